// name = "slice_factor_records"
// title = "Analysis slice: records by coded factor value"
// description = """One row per HAS_FACTOR edge of the filtered records: the record's uid, the factor's uid and the
// coded value (present true or false), sorted by record, then factor. A record without an edge to a factor did
// not code it (for presence-only datasets it counts as absent: the pattern measures add those). Factors as
// recorded (source schemes kept; slice_factors gives their common concepts). Flat rows rather than one row per
// factor with a list of records: LadybugDB builds those lists far more slowly than it returns the rows.
// Records are Homicides and Incidents alike, filtered by dataset, record uid, year range, incident kind, area (the
// record's area or any area containing it), motive, method and relationship (a common code matches a record coded
// in that common concept or in a source concept that MAPS_TO it; a uid matches that concept)."""
// result = "table"
// max_rows = 50000000
// timeout_s = 300
// [parameters.dataset]
// type = "string"
// default = ""
// description = "Dataset name (empty: every dataset)"
// [parameters.uid]
// type = "string"
// default = ""
// description = "Only this record (empty: every record matching the other filters)"
// [parameters.year_from]
// type = "integer"
// default = 0
// description = "First year included (0 and year_to 9999: every record, also those with no year)"
// [parameters.year_to]
// type = "integer"
// default = 9999
// description = "Last year included"
// [parameters.incident_kinds]
// type = "string_list"
// default = []
// description = "Incident kinds kept (empty: every record; Homicide records are always kept)"
// [parameters.area]
// type = "string"
// default = ""
// description = "Area code or uid: records in that area or in an area it contains (empty: anywhere)"
// [parameters.motive]
// type = "string"
// default = ""
// description = "Common motive code or any Motive uid (empty: any motive)"
// [parameters.method]
// type = "string"
// default = ""
// description = "Common method code or any Method uid (empty: any method)"
// [parameters.relationship]
// type = "string"
// default = ""
// description = "Common relationship code or any Relationship uid (empty: any relationship)"
MATCH (d:Dataset)
WHERE $dataset = '' OR d.name = $dataset
MATCH (h)-[:FROM_DATASET]->(d)
WHERE ((h.year >= $year_from AND h.year <= $year_to) OR (h.year IS NULL AND $year_from = 0 AND $year_to = 9999))
  AND (size($incident_kinds) = 0 OR h.kind IS NULL OR h.kind IN $incident_kinds)
  AND ($uid = '' OR h.uid = $uid)
OPTIONAL MATCH (h)-[:HAS_MOTIVE]->(:Motive)-[:MAPS_TO*0..1]->(fm:Motive)
WHERE $motive <> '' AND (fm.uid = $motive OR (fm.scheme = 'micropathways' AND fm.code = $motive))
WITH d, h, count(fm) AS motive_hits
WHERE $motive = '' OR motive_hits > 0
OPTIONAL MATCH (h)-[:BY_METHOD]->(:Method)-[:MAPS_TO*0..1]->(fw:Method)
WHERE $method <> '' AND (fw.uid = $method OR (fw.scheme = 'micropathways' AND fw.code = $method))
WITH d, h, count(fw) AS method_hits
WHERE $method = '' OR method_hits > 0
OPTIONAL MATCH (h)-[:HAS_RELATIONSHIP]->(:Relationship)-[:MAPS_TO*0..1]->(fr:Relationship)
WHERE $relationship <> '' AND (fr.uid = $relationship OR (fr.scheme = 'micropathways' AND fr.code = $relationship))
WITH d, h, count(fr) AS relationship_hits
WHERE $relationship = '' OR relationship_hits > 0
OPTIONAL MATCH (h)-[:IN_AREA]->(:Area)-[:MAPS_TO*0..3]->(fa:Area)
WHERE $area <> '' AND (fa.uid = $area OR fa.code = $area)
WITH d, h, count(fa) AS area_hits
WHERE $area = '' OR area_hits > 0
MATCH (h)-[r:HAS_FACTOR]->(f:Factor)
RETURN h.uid AS record_uid, f.uid AS factor_uid, r.present AS present
ORDER BY record_uid, factor_uid, present
