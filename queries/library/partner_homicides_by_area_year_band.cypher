// name = "partner_homicides_by_area_year_band"
// title = "Partner view: homicides by area and five-year band"
// description = """Homicides of one dataset by whole area and fixed five-year band (year_band is the band's
// first year: 2005 means 2005-2009). The area is the London borough or US state the homicide was placed in
// (counties roll up to their state through MAPS_TO); a homicide placed in no borough or state (e.g. the Met's
// 'Unmapped' victims) counts under '(no borough or state)'. Each homicide counts once. The population is the
// same as partner_homicides_by_year_band_method's, so the two tables share their year-band totals. Safe for
// partners: the output passes through disclosure control (docs/disclosure.md)."""
// result = "table"
// max_rows = 10000
// timeout_s = 30
// [partner]
// safe = true
// dimensions = ["area", "year_band"]
// counts = ["homicides"]
// totals = [[], ["area"], ["year_band"]]
// zero_disclosive = false
// [parameters.dataset]
// type = "string"
// default = "london-mps"
// description = "Dataset name (one whole dataset; partners cannot ask for all datasets at once)"
MATCH (d:Dataset)
WHERE d.name = $dataset
MATCH (h)-[:FROM_DATASET]->(d)
WHERE h.year IS NOT NULL AND (h.kind IS NULL OR h.kind = 'homicide' OR h.kind = 'murder_suicide')
OPTIONAL MATCH (h)-[:IN_AREA]->(:Area)-[:MAPS_TO*0..3]->(a:Area)
WHERE a.level = 'borough' OR a.level = 'state'
WITH h, min(CASE WHEN a IS NULL THEN NULL ELSE a.label + ' (' + a.code + ')' END) AS first_area
RETURN coalesce(first_area, '(no borough or state)') AS area, h.year - h.year % 5 AS year_band,
       count(h) AS homicides
ORDER BY area, year_band
