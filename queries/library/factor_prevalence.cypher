// name = "factor_prevalence"
// title = "Prevalence of each factor"
// description = """Share of records with each factor present. The denominator is the records where the
// factor was coded (an explicit present/absent value); for presence-only sources such as GVA tags it is
// every record of the dataset, since a missing tag counts as absent there."""
// result = "chart"
// max_rows = 2000
// timeout_s = 30
// [chart]
// type = "bar"
// x = "factor"
// y = "prevalence"
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
MATCH (h)-[:FROM_DATASET]->(d)
WHERE h.year >= $year_from AND h.year <= $year_to
WITH d, count(h) AS records
MATCH (h)-[:FROM_DATASET]->(d)
WHERE h.year >= $year_from AND h.year <= $year_to
MATCH (h)-[r:HAS_FACTOR]->(f:Factor)
WITH d, records, f, count(r) AS coded, sum(CASE WHEN r.present THEN 1 ELSE 0 END) AS present
WITH f, sum(present) AS n_present,
     sum(CASE WHEN d.factor_recording = 'presence_only' THEN records ELSE coded END) AS n_coded
RETURN f.uid AS uid, f.label AS factor, f.scheme AS scheme, f.kind AS kind,
       n_present, n_coded, 1.0 * n_present / n_coded AS prevalence
ORDER BY prevalence DESC, factor
