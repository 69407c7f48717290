// name = "partner_homicides_by_year_band_method"
// title = "Partner view: homicides by five-year band and method"
// description = """Homicides of one dataset by fixed five-year band (year_band is the band's first year,
// bands start at multiples of five: 2005 means 2005-2009) and common method of killing. Each homicide counts
// once: a record with several methods counts under the first common method label in alphabetical order, and
// one with none under '(not coded)'. The population is every homicide record of the dataset with a year
// (Incident records only of kind homicide or murder_suicide). Safe for partners: the output passes through
// disclosure control (docs/disclosure.md) before a partner sees it."""
// result = "table"
// max_rows = 5000
// timeout_s = 30
// [partner]
// safe = true
// dimensions = ["year_band", "method"]
// counts = ["homicides"]
// totals = [[], ["year_band"], ["method"]]
// zero_disclosive = false
// [parameters.dataset]
// type = "string"
// default = "london-mps"
// description = "Dataset name (one whole dataset; partners cannot ask for all datasets at once)"
MATCH (d:Dataset)
WHERE d.name = $dataset
MATCH (h)-[:FROM_DATASET]->(d)
WHERE h.year IS NOT NULL AND (h.kind IS NULL OR h.kind = 'homicide' OR h.kind = 'murder_suicide')
OPTIONAL MATCH (h)-[:BY_METHOD]->(:Method)-[:MAPS_TO*0..1]->(m:Method)
WHERE m.scheme = 'micropathways'
WITH h, min(m.label) AS first_method
RETURN h.year - h.year % 5 AS year_band, coalesce(first_method, '(not coded)') AS method, count(h) AS homicides
ORDER BY year_band, method
