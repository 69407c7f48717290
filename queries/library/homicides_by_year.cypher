// name = "homicides_by_year"
// title = "Homicides per year"
// description = """Number of homicides recorded in each year, per dataset (the trend). Homicide records
// always count; records of non-homicide series (Incident nodes, e.g. GVA) count only when their kind is one
// of incident_kinds. Records with no year are left out."""
// result = "chart"
// max_rows = 5000
// timeout_s = 30
// [chart]
// type = "line"
// x = "year"
// y = "homicides"
// series = "dataset"
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
RETURN d.name AS dataset, h.year AS year, count(h) AS homicides
ORDER BY dataset, year
