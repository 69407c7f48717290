// name = "links_summary"
// title = "Link runs and how many links each holds at common thresholds"
// description = """One row per link run (LinkRun) between two datasets: its method and threshold, how many
// links it holds, how many of them reach match probability 0.5, 0.8, 0.95 and 0.99, how many are proposed,
// accepted and rejected, and how many distinct records of each side are linked."""
// result = "table"
// max_rows = 1000
// timeout_s = 60
// [parameters.left]
// type = "string"
// default = ""
// description = "Left dataset (empty: any)"
// [parameters.right]
// type = "string"
// default = ""
// description = "Right dataset (empty: any)"
MATCH (k:LinkRun)
WHERE ($left = '' OR k.left_dataset = $left) AND ($right = '' OR k.right_dataset = $right)
OPTIONAL MATCH (a)-[r:LINKED_TO]->(b)
WHERE r.run = k.uid
RETURN k.uid AS run, k.left_dataset AS left_dataset, k.right_dataset AS right_dataset,
       k.link_method AS link_method, k.threshold AS threshold, count(r) AS links,
       sum(CASE WHEN r.match_probability >= 0.5 THEN 1 ELSE 0 END) AS at_0_5,
       sum(CASE WHEN r.match_probability >= 0.8 THEN 1 ELSE 0 END) AS at_0_8,
       sum(CASE WHEN r.match_probability >= 0.95 THEN 1 ELSE 0 END) AS at_0_95,
       sum(CASE WHEN r.match_probability >= 0.99 THEN 1 ELSE 0 END) AS at_0_99,
       sum(CASE WHEN r.status = 'proposed' THEN 1 ELSE 0 END) AS proposed,
       sum(CASE WHEN r.status = 'accepted' THEN 1 ELSE 0 END) AS accepted,
       sum(CASE WHEN r.status = 'rejected' THEN 1 ELSE 0 END) AS rejected,
       count(DISTINCT a.uid) AS left_records, count(DISTINCT b.uid) AS right_records
ORDER BY left_dataset, right_dataset, run
