// name = "similar_homicides"
// title = "Homicides that share factors with this one"
// description = """Other homicides with at least k of the same situational factors present as the homicide
// uid (compared on common factors, so a source factor matches its MAPS_TO target), with the shared factor
// labels, the number of factors present in the other homicide and the Jaccard similarity shared / (mine +
// theirs - shared). Ordered by shared count, then similarity, then uid."""
// result = "table"
// max_rows = 1000
// timeout_s = 30
// [parameters.uid]
// type = "string"
// default = ""
// description = "uid of the homicide to compare with, e.g. london-mps:1 (empty: no result)"
// [parameters.k]
// type = "integer"
// default = 2
// description = "Minimum number of shared present factors"
// [parameters.dataset]
// type = "string"
// default = ""
// description = "Only look for similar homicides in this dataset (empty: every dataset)"
// [parameters.incident_kinds]
// type = "string_list"
// default = ["homicide", "murder_suicide"]
// description = "Incident kinds counted as homicides (Homicide records always count)"
MATCH (h)-[:FROM_DATASET]->(:Dataset)
WHERE h.uid = $uid
MATCH (h)-[r:HAS_FACTOR]->(:Factor)-[:MAPS_TO*0..1]->(f:Factor)
WHERE r.present AND f.scheme = 'micropathways'
WITH h, count(DISTINCT f) AS n_mine
MATCH (h)-[r:HAS_FACTOR]->(:Factor)-[:MAPS_TO*0..1]->(f:Factor)
WHERE r.present AND f.scheme = 'micropathways'
WITH DISTINCT h, n_mine, f
MATCH (f)<-[:MAPS_TO*0..1]-(:Factor)<-[r2:HAS_FACTOR]-(o)
WHERE r2.present AND o.uid <> h.uid
WITH DISTINCT n_mine, f, o
MATCH (o)-[:FROM_DATASET]->(od:Dataset)
WHERE ($dataset = '' OR od.name = $dataset) AND (o.kind IS NULL OR o.kind IN $incident_kinds)
WITH n_mine, o, od, f
ORDER BY f.label
SKIP 0
WITH n_mine, o, od, count(f) AS shared, collect(f.label) AS shared_factors
WHERE shared >= $k
MATCH (o)-[r3:HAS_FACTOR]->(:Factor)-[:MAPS_TO*0..1]->(g:Factor)
WHERE r3.present AND g.scheme = 'micropathways'
WITH n_mine, o, od, shared, shared_factors, count(DISTINCT g) AS theirs
RETURN o.uid AS uid, od.name AS dataset, o.year AS year, shared, shared_factors, n_mine AS mine, theirs,
       1.0 * shared / (n_mine + theirs - shared) AS jaccard
ORDER BY shared DESC, jaccard DESC, uid
