// name = "victim_suspect_relationships"
// title = "Victim-suspect relationships"
// description = """Homicides per common victim-suspect relationship (Homicide Index categories; source
// relationships are counted through their MAPS_TO mapping), per dataset, with the share of the dataset's
// homicides in the selection. Records with no relationship coded are counted under '(not coded)'. A record
// with several relationships counts once under each, so shares can add up to more than 1."""
// result = "table"
// max_rows = 5000
// timeout_s = 30
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
MATCH (h)-[:FROM_DATASET]->(d)
WHERE h.year >= $year_from AND h.year <= $year_to
  AND (h.kind IS NULL OR h.kind IN $incident_kinds)
WITH d, count(h) AS records
MATCH (h)-[:FROM_DATASET]->(d)
WHERE h.year >= $year_from AND h.year <= $year_to
  AND (h.kind IS NULL OR h.kind IN $incident_kinds)
OPTIONAL MATCH (h)-[:HAS_RELATIONSHIP]->(:Relationship)-[:MAPS_TO*0..1]->(m:Relationship)
WHERE m.scheme = 'micropathways'
WITH d, records, coalesce(m.code, '') AS relationship_code, coalesce(m.label, '(not coded)') AS relationship,
     count(DISTINCT h) AS homicides
RETURN d.name AS dataset, relationship_code, relationship, homicides, records,
       1.0 * homicides / records AS share
ORDER BY dataset, homicides DESC, relationship_code
