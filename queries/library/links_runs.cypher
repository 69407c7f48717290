// name = "links_runs"
// title = "Link runs"
// description = """Every link run (LinkRun): the two datasets, the method, the threshold chosen, the
// parameters (keys or blocking and compared fields, filters, seed, recall) as JSON, how many links it
// proposed when it last ran and when it was first written. The trained Splink model (prior, m and u
// probabilities) is the run's 'model' property."""
// result = "table"
// max_rows = 1000
// timeout_s = 30
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
RETURN k.uid AS run, k.left_dataset AS left_dataset, k.right_dataset AS right_dataset,
       k.link_method AS link_method, k.threshold AS threshold, k.parameters AS parameters,
       k.link_count AS link_count, k.loaded_at AS loaded_at
ORDER BY left_dataset, right_dataset, run
