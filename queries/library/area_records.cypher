// name = "area_records"
// title = "Records in each area, including the areas inside it"
// description = """One row per area that has records: its uid, code, label and level, and the sorted uids
// of the records placed in it or in any area inside it (IN_AREA, then up to three MAPS_TO hops from an area
// to the area containing it: borough → region, county → state). The dashboard's area filter and its
// by-area counts are built from it; the same rule as the slice queries' area filter."""
// result = "table"
// max_rows = 1000000
// timeout_s = 300
// [parameters.dataset]
// type = "string"
// default = ""
// description = "Dataset name (empty: every dataset)"
MATCH (d:Dataset)
WHERE $dataset = '' OR d.name = $dataset
MATCH (h)-[:FROM_DATASET]->(d)
MATCH (h)-[:IN_AREA]->(:Area)-[:MAPS_TO*0..3]->(a:Area)
WITH DISTINCT a, h
WITH a, h
ORDER BY h.uid
SKIP 0
WITH a, collect(h.uid) AS records
RETURN a.uid AS area_uid, a.code AS area_code, a.label AS area, a.level AS level, size(records) AS n_records,
       records
ORDER BY area_uid
