// name = "factor_cooccurrence"
// title = "Factor pairs that co-occur"
// description = """Pairs of factors present together in the same record, with how many records have both
// (n_ab) and each (n_a, n_b). Each pair is listed once (a before b by uid)."""
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
// [parameters.min_count]
// type = "integer"
// default = 1
// description = "Only pairs present together in at least this many records"
MATCH (d:Dataset)
WHERE $dataset = '' OR d.name = $dataset
MATCH (h)-[:FROM_DATASET]->(d)
WHERE h.year >= $year_from AND h.year <= $year_to
MATCH (h)-[ra:HAS_FACTOR]->(a:Factor)
WHERE ra.present
WITH a, count(h) AS n_a
MATCH (d:Dataset)
WHERE $dataset = '' OR d.name = $dataset
MATCH (h)-[:FROM_DATASET]->(d)
WHERE h.year >= $year_from AND h.year <= $year_to
MATCH (h)-[ra:HAS_FACTOR]->(a)
WHERE ra.present
MATCH (h)-[rb:HAS_FACTOR]->(b:Factor)
WHERE rb.present AND a.uid < b.uid
WITH a, n_a, b, count(h) AS n_ab
WHERE n_ab >= $min_count
MATCH (d:Dataset)
WHERE $dataset = '' OR d.name = $dataset
MATCH (h)-[:FROM_DATASET]->(d)
WHERE h.year >= $year_from AND h.year <= $year_to
MATCH (h)-[rb:HAS_FACTOR]->(b)
WHERE rb.present
WITH a, n_a, b, n_ab, count(h) AS n_b
RETURN a.uid AS a_uid, a.label AS factor_a, b.uid AS b_uid, b.label AS factor_b, n_a, n_b, n_ab
ORDER BY n_ab DESC, factor_a, factor_b
