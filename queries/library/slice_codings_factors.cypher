// name = "slice_codings_factors"
// title = "Double-coded factors: both codings side by side"
// description = """For coding reliability: every independent second (third, ...) coding of a factor
// (CODED_AS, from a coded bundle's reliability.csv) beside the record's own coding of that factor
// (HAS_FACTOR), one row per second coding. present and coder are the second coder's; primary_present and
// primary_coder the record's own value (null when the factor was not coded for the record). A factor coded
// not_recorded by the second coder has no row. coding_frame_version is the frame the record was coded under.
// Records are Homicides and Incidents (with a year)."""
// result = "table"
// max_rows = 2000000
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
MATCH (h)-[c:CODED_AS]->(f:Factor)
OPTIONAL MATCH (h)-[p:HAS_FACTOR]->(f)
RETURN d.name AS dataset, h.uid AS uid, h.coding_frame_version AS coding_frame_version,
       f.uid AS variable_uid, f.code AS variable, f.label AS variable_label,
       c.coder AS coder, c.present AS present, p.coder AS primary_coder, p.present AS primary_present
ORDER BY uid, variable_uid, coder, primary_coder
