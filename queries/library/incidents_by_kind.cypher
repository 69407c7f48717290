// name = "incidents_by_kind"
// title = "Incidents by kind"
// description = """Records of non-homicide series (Incident nodes, e.g. Gun Violence Archive incidents) per
// dataset and kind (incident-kind scheme: homicide, murder_suicide, suicide, accidental,
// legal_intervention, defensive, undetermined) with the kind's ICCS code (0101 intentional homicide, 0103
// non-intentional homicide; empty where ICCS does not apply) and the share of the dataset's incidents in
// the selection."""
// result = "chart"
// max_rows = 1000
// timeout_s = 30
// [chart]
// type = "bar"
// x = "kind"
// y = "incidents"
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
MATCH (d:Dataset)
WHERE $dataset = '' OR d.name = $dataset
MATCH (i:Incident)-[:FROM_DATASET]->(d)
WHERE i.year >= $year_from AND i.year <= $year_to
WITH d, count(i) AS records
MATCH (i:Incident)-[:FROM_DATASET]->(d)
WHERE i.year >= $year_from AND i.year <= $year_to
WITH d, records, i.kind AS kind, coalesce(i.iccs, '') AS iccs, count(i) AS incidents
RETURN d.name AS dataset, kind, iccs, incidents, 1.0 * incidents / records AS share
ORDER BY dataset, incidents DESC, kind
