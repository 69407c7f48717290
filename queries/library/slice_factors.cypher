// name = "slice_factors"
// title = "Analysis slice: the factor catalogue"
// description = """Every Factor concept in the graph with its code, label, scheme and legend group (kind), and
// the common factor it stands for (itself when already common, else through MAPS_TO; null when it maps to
// none). A source factor that maps to two common factors has two rows."""
// result = "table"
// max_rows = 100000
// timeout_s = 60
MATCH (f:Factor)
OPTIONAL MATCH (f)-[:MAPS_TO*0..1]->(c:Factor)
WHERE c.scheme = 'micropathways'
RETURN f.uid AS factor_uid, f.code AS code, f.label AS label, f.scheme AS scheme, f.kind AS kind,
       c.uid AS common_uid, c.label AS common_label
ORDER BY factor_uid, common_uid
