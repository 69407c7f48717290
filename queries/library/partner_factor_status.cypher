// name = "partner_factor_status"
// title = "Partner view: homicides by situational factor status"
// description = """For each situational factor recorded in one dataset (as the source coded it), the
// homicides where it was present, absent, and not coded; the three add up to every homicide of the dataset
// with a year. Presence-only datasets (e.g. GVA tags) have no 'not coded': a missing tag counts as absent.
// Safe for partners: the output passes through disclosure control (docs/disclosure.md). A zero 'present' or
// 'absent' is disclosive (it states a fact about every coded homicide); a zero 'not coded' is not."""
// result = "table"
// max_rows = 5000
// timeout_s = 30
// [partner]
// safe = true
// dimensions = ["factor", "status"]
// counts = ["homicides"]
// totals = [["factor"]]
// zero_disclosive = { status = ["present", "absent"] }
// [parameters.dataset]
// type = "string"
// default = "london-mps"
// description = "Dataset name (one whole dataset; partners cannot ask for all datasets at once)"
MATCH (d:Dataset)
WHERE d.name = $dataset
MATCH (h)-[:FROM_DATASET]->(d)
WHERE h.year IS NOT NULL AND (h.kind IS NULL OR h.kind = 'homicide' OR h.kind = 'murder_suicide')
WITH d, count(h) AS records
MATCH (h)-[:FROM_DATASET]->(d)
WHERE h.year IS NOT NULL AND (h.kind IS NULL OR h.kind = 'homicide' OR h.kind = 'murder_suicide')
MATCH (h)-[r:HAS_FACTOR]->(f:Factor)
WITH d, records, f, h, max(CASE WHEN r.present THEN 1 ELSE 0 END) AS present
WITH d, records, f, count(h) AS coded, sum(present) AS n_present
WITH f, records, n_present,
     CASE WHEN d.factor_recording = 'presence_only' THEN records ELSE coded END AS n_coded
UNWIND range(0, 2) AS i
RETURN f.label + ' (' + f.uid + ')' AS factor,
       CASE i WHEN 0 THEN 'present' WHEN 1 THEN 'absent' ELSE 'not coded' END AS status,
       CASE i WHEN 0 THEN n_present WHEN 1 THEN n_coded - n_present ELSE records - n_coded END AS homicides
ORDER BY factor, status
