// name = "factor_prevalence_by_dataset"
// title = "Factor prevalence by dataset"
// description = """For each dataset and each factor it records (as the source codes it), the records with the
// factor present (n_present), the records where it was coded (n_coded: an explicit present/absent value; for
// presence-only datasets every record of the dataset, since a missing tag counts as absent) and the share
// n_present / n_coded (prevalence)."""
// result = "table"
// max_rows = 100000
// timeout_s = 120
// [parameters.dataset]
// type = "string"
// default = ""
// description = "Dataset name (empty: every dataset)"
MATCH (d:Dataset)
WHERE $dataset = '' OR d.name = $dataset
MATCH (h)-[:FROM_DATASET]->(d)
WITH d, count(h) AS records
MATCH (h)-[:FROM_DATASET]->(d)
MATCH (h)-[r:HAS_FACTOR]->(f:Factor)
WITH d, records, f, count(r) AS coded, sum(CASE WHEN r.present THEN 1 ELSE 0 END) AS present
WITH d, f, present, CASE WHEN d.factor_recording = 'presence_only' THEN records ELSE coded END AS denominator
RETURN d.name AS dataset, f.uid AS factor, present AS n_present, denominator AS n_coded,
       1.0 * present / denominator AS prevalence
ORDER BY dataset, factor
