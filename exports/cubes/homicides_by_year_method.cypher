// name = "homicides_by_year_method"
// title = "Homicides by year, method of killing and dataset"
// description = """Homicides per dataset, year and common method of killing (Homicide Index categories; a
// source method counts through its MAPS_TO mapping). Homicide records always count; Incident records count when
// their kind is one of incident_kinds. Records with no year are left out; records with no common method count
// under method '' (not coded). A record with several common methods counts once under each."""
// result = "table"
// max_rows = 1000000
// timeout_s = 120
// [parameters.dataset]
// type = "string"
// default = ""
// description = "Dataset name (empty: every dataset)"
// [parameters.incident_kinds]
// type = "string_list"
// default = ["homicide", "murder_suicide"]
// description = "Incident kinds counted as homicides (Homicide records always count)"
MATCH (d:Dataset)
WHERE $dataset = '' OR d.name = $dataset
MATCH (h)-[:FROM_DATASET]->(d)
WHERE h.year IS NOT NULL AND (h.kind IS NULL OR h.kind IN $incident_kinds)
OPTIONAL MATCH (h)-[:BY_METHOD]->(:Method)-[:MAPS_TO*0..1]->(m:Method)
WHERE m.scheme = 'micropathways'
WITH d, h.year AS year, coalesce(m.uid, '') AS method, count(DISTINCT h) AS homicides
RETURN d.name AS dataset, year, method, homicides
ORDER BY dataset, year, method
