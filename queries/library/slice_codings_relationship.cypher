// name = "slice_codings_relationship"
// title = "Double-coded victim-suspect relationship: both codings side by side"
// description = """For coding reliability: every independent second (third, ...) coding of the record's
// victim-suspect relationship (CODED_AS to a Relationship, from a coded bundle's reliability.csv) beside the record's own value
// (HAS_RELATIONSHIP), one row per second coding and own value. value and coder are the second coder's;
// primary_value and primary_coder the record's own (null when it has none). coding_frame_version is the
// frame the record was coded under. Records are Homicides and Incidents (with a year)."""
// result = "table"
// max_rows = 1000000
// timeout_s = 120
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
MATCH (h)-[c:CODED_AS]->(x:Relationship)
OPTIONAL MATCH (h)-[p:HAS_RELATIONSHIP]->(own:Relationship)
RETURN d.name AS dataset, h.uid AS uid, h.coding_frame_version AS coding_frame_version,
       'relationship' AS variable, x.uid AS value_uid, x.code AS value, x.label AS value_label, c.coder AS coder,
       own.uid AS primary_value_uid, own.code AS primary_value, p.coder AS primary_coder
ORDER BY uid, coder, value_uid, primary_value_uid
