// name = "factors_by_motive"
// title = "Factor prevalence by motive"
// description = """For each common motive (apparent circumstance; source circumstances through MAPS_TO),
// the share of its homicides with each common situational factor present (source factors through MAPS_TO; a
// record with several source factors mapping to one common factor counts once, present if any is present).
// The denominator n_coded is the homicides of the group where the factor was coded (present or absent); for
// presence-only datasets (factor_recording 'presence_only', e.g. GVA tags) it is every homicide of the
// group, for each factor the dataset can record (it tags that factor somewhere in the dataset). Datasets
// that code no factors do not contribute."""
// result = "table"
// max_rows = 5000
// timeout_s = 60
// [parameters.dataset]
// type = "string"
// default = ""
// description = "Dataset name (empty: every dataset)"
// [parameters.year_from]
// type = "integer"
// default = 0
// description = "First year included"
// [parameters.year_to]
// type = "integer"
// default = 9999
// description = "Last year included"
// [parameters.incident_kinds]
// type = "string_list"
// default = ["homicide", "murder_suicide"]
// description = "Incident kinds counted as homicides (Homicide records always count)"
MATCH (d:Dataset)
WHERE $dataset = '' OR d.name = $dataset
MATCH (d)<-[:FROM_DATASET]-(x)-[:HAS_FACTOR]->(:Factor)-[:MAPS_TO*0..1]->(f:Factor)
WHERE f.scheme = 'micropathways'
WITH DISTINCT d, f
MATCH (h)-[:FROM_DATASET]->(d)
WHERE h.year >= $year_from AND h.year <= $year_to
  AND (h.kind IS NULL OR h.kind IN $incident_kinds)
MATCH (h)-[:HAS_MOTIVE]->(:Motive)-[:MAPS_TO*0..1]->(g:Motive)
WHERE g.scheme = 'micropathways'
WITH DISTINCT d, f, g, h
OPTIONAL MATCH (h)-[r:HAS_FACTOR]->(:Factor)-[:MAPS_TO*0..1]->(f)
WITH d, f, g, h, count(r) AS edges, max(CASE WHEN r.present THEN 1 ELSE 0 END) AS present
WITH d, f, g, count(h) AS records, sum(CASE WHEN edges > 0 THEN 1 ELSE 0 END) AS coded,
     sum(present) AS present
WITH f, g, sum(present) AS n_present,
     sum(CASE WHEN d.factor_recording = 'presence_only' THEN records ELSE coded END) AS n_coded
WHERE n_coded > 0
RETURN g.code AS motive_code, g.label AS motive, f.code AS factor_code, f.label AS factor,
       n_present, n_coded, 1.0 * n_present / n_coded AS prevalence
ORDER BY motive_code, prevalence DESC, factor_code
