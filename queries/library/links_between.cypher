// name = "links_between"
// title = "Links between two datasets"
// description = """One row per link (LINKED_TO) from a record of the left dataset to a record of the right
// dataset: the run that made it, its method (deterministic or probabilistic), Splink's match probability and
// match weight (log2 Bayes factor; empty for deterministic links), the fields on which the two records
// agreed ('|'-separated; 'victim_age~1' means within one year), the threshold chosen for the run, the review
// status (proposed, accepted, rejected) and the year and month of the record on each side. Highest
// probability first."""
// result = "table"
// max_rows = 10000
// timeout_s = 60
// [parameters.left]
// type = "string"
// default = ""
// description = "Left dataset: the sources of the links (empty: any)"
// [parameters.right]
// type = "string"
// default = ""
// description = "Right dataset: the targets of the links (empty: any)"
// [parameters.min_probability]
// type = "float"
// default = 0.0
// description = "Smallest match probability shown"
// [parameters.status]
// type = "string"
// default = ""
// description = "Review status: proposed, accepted or rejected (empty: any)"
// [parameters.run]
// type = "string"
// default = ""
// description = "Link run uid, e.g. linkrun:2a14015d763c0f3a (empty: any)"
MATCH (a)-[r:LINKED_TO]->(b)
WHERE ($left = '' OR a.dataset = $left) AND ($right = '' OR b.dataset = $right)
  AND r.match_probability >= $min_probability AND ($status = '' OR r.status = $status)
  AND ($run = '' OR r.run = $run)
RETURN r.run AS run, a.dataset AS left_dataset, a.uid AS left_uid, b.dataset AS right_dataset,
       b.uid AS right_uid, r.link_method AS link_method, r.match_probability AS match_probability,
       r.match_weight AS match_weight, r.agreed_fields AS agreed_fields, r.threshold AS threshold,
       r.status AS status, r.reviewer AS reviewer, a.year AS left_year, a.month AS left_month,
       b.year AS right_year, b.month AS right_month
ORDER BY match_probability DESC, left_uid, right_uid, run
