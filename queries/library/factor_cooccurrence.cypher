// name = "factor_cooccurrence"
// title = "Factor pairs that co-occur"
// description = """Pairs of factors present together in the same record, with how many records have both
// (n_ab) and each (n_a, n_b). Each pair is listed once (a before b by uid). Read from the factor tallies each
// load derives per dataset and year (graph_model/tallies.py), so it stays fast on large graphs; the counts are
// those of expanding every record's factors (tests/test_tallies.py checks that on both engines)."""
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
MATCH (t:FactorTally)
WHERE ($dataset = '' OR t.dataset = $dataset) AND t.year >= $year_from AND t.year <= $year_to
  AND t.factor_b <> ''
WITH t.factor_a AS au, t.factor_b AS bu, sum(t.tally) AS n_ab
WHERE n_ab >= $min_count
MATCH (sa:FactorTally)
WHERE sa.factor_a = au AND sa.factor_b = '' AND ($dataset = '' OR sa.dataset = $dataset)
  AND sa.year >= $year_from AND sa.year <= $year_to
WITH au, bu, n_ab, sum(sa.tally) AS n_a
MATCH (sb:FactorTally)
WHERE sb.factor_a = bu AND sb.factor_b = '' AND ($dataset = '' OR sb.dataset = $dataset)
  AND sb.year >= $year_from AND sb.year <= $year_to
WITH au, bu, n_ab, n_a, sum(sb.tally) AS n_b
MATCH (a:Factor {uid: au})
MATCH (b:Factor {uid: bu})
RETURN a.uid AS a_uid, a.label AS factor_a, b.uid AS b_uid, b.label AS factor_b, n_a, n_b, n_ab
ORDER BY n_ab DESC, factor_a, factor_b
