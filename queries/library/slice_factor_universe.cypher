// name = "slice_factor_universe"
// title = "Analysis slice: the factors each presence-only dataset can record"
// description = """For each presence-only dataset (factor_recording 'presence_only', e.g. GVA tags), every
// factor that at least one of its records has (in the whole dataset, whatever the filters): the dataset can
// record it, so in that dataset a record without it counts as absent, not as not coded. Explicit datasets do not
// appear: there a record without a HAS_FACTOR edge did not code the factor."""
// result = "table"
// max_rows = 1000000
// timeout_s = 300
// [parameters.dataset]
// type = "string"
// default = ""
// description = "Dataset name (empty: every dataset)"
MATCH (d:Dataset)
WHERE ($dataset = '' OR d.name = $dataset) AND d.factor_recording = 'presence_only'
MATCH (d)<-[:FROM_DATASET]-(x)-[:HAS_FACTOR]->(f:Factor)
WITH DISTINCT d, f
RETURN d.name AS dataset, f.uid AS factor_uid
ORDER BY dataset, factor_uid
