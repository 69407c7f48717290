// name = "dataset_summary"
// title = "Datasets in the graph"
// description = """One row per loaded dataset: whether it is synthetic (synthetic records must be labelled
// as such wherever shown), how factors are recorded ('explicit': present/absent per record, a missing value
// is not coded; 'presence_only': only what applied is listed), its coding frame version, the records it
// holds (Homicide and Incident), the first and last year and the number of distinct years covered, its
// source, licence and when it was last loaded."""
// result = "table"
// max_rows = 1000
// timeout_s = 30
// [parameters.dataset]
// type = "string"
// default = ""
// description = "Dataset name (empty: every dataset)"
MATCH (d:Dataset)
WHERE $dataset = '' OR d.name = $dataset
OPTIONAL MATCH (h)-[:FROM_DATASET]->(d)
RETURN d.name AS dataset, d.synthetic AS synthetic, d.factor_recording AS factor_recording,
       d.coding_frame_version AS coding_frame_version, count(h) AS records,
       sum(CASE WHEN h IS NOT NULL AND h.kind IS NULL THEN 1 ELSE 0 END) AS homicides,
       sum(CASE WHEN h.kind IS NULL THEN 0 ELSE 1 END) AS incidents,
       min(h.year) AS first_year, max(h.year) AS last_year, count(DISTINCT h.year) AS years,
       d.source AS source, d.licence AS licence, d.loaded_at AS loaded_at
ORDER BY dataset
