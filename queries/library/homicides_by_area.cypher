// name = "homicides_by_area"
// title = "Homicides per area"
// description = """Number of homicides in each area (GSS code for England and Wales, US state or county),
// per dataset. With an empty level each homicide counts once, in the area it was placed in (the Met's
// 'Unmapped' victims are placed in the London region). With a level (borough, region, state, county, ...)
// homicides are rolled up through the area hierarchy (MAPS_TO from an area to the area containing it) to
// the area of that level; homicides placed only in a coarser area are left out."""
// result = "table"
// max_rows = 5000
// timeout_s = 30
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
// [parameters.level]
// type = "string"
// default = ""
// description = "Area level to count at: borough, region, state, county, lsoa, msoa (empty: as placed)"
// [parameters.incident_kinds]
// type = "string_list"
// default = ["homicide", "murder_suicide"]
// description = "Incident kinds counted as homicides (Homicide records always count)"
MATCH (d:Dataset)
WHERE $dataset = '' OR d.name = $dataset
MATCH (h)-[:FROM_DATASET]->(d)
WHERE h.year >= $year_from AND h.year <= $year_to
  AND (h.kind IS NULL OR h.kind IN $incident_kinds)
MATCH (h)-[:IN_AREA]->(placed:Area)-[:MAPS_TO*0..3]->(a:Area)
WHERE ($level = '' AND a.uid = placed.uid) OR a.level = $level
RETURN d.name AS dataset, a.code AS area_code, a.label AS area, a.level AS level,
       count(DISTINCT h) AS homicides
ORDER BY dataset, homicides DESC, area_code
