// name = "escalation_times"
// title = "Escalation time of each homicide"
// description = """For each homicide with a micropathway that contains a conflict step: the first conflict
// step (lowest position whose common event type is one of conflict_codes) and the minutes from it to the
// fatal incident (that event's minutes_before; null when its time is not known), with the homicide's common
// motive and method. Bands: '<5 min', '5-15 min' (5 <= m < 15), '15-60 min', '1-24 h' (60 <= m < 1440),
// '>24 h' (m >= 1440), 'not known'. A homicide with several motives or methods has one row for each.
// Homicides whose pathway has no conflict step are not listed."""
// result = "table"
// max_rows = 10000
// timeout_s = 60
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
// [parameters.conflict_codes]
// type = "string_list"
// default = ["prior_dispute", "online_provocation", "verbal_argument", "threat",
//            "physical_altercation", "weapon_retrieved", "pursuit", "robbery_attempt"]
// description = "Common event-type codes that count as conflict (default: the mp:conflictEvent ones)"
MATCH (d:Dataset)
WHERE $dataset = '' OR d.name = $dataset
MATCH (h:Homicide)-[:FROM_DATASET]->(d)
WHERE h.year >= $year_from AND h.year <= $year_to
MATCH (e:Event)
WHERE e.record_uid = h.uid
WITH d, h, e
MATCH (e)-[:OF_TYPE]->(:EventType)-[:MAPS_TO*0..1]->(t:EventType)
WHERE t.scheme = 'micropathways' AND t.code IN $conflict_codes
WITH d, h, min(e.position) AS first_step
MATCH (e:Event)
WHERE e.record_uid = h.uid AND e.position = first_step
WITH d, h, first_step, e
MATCH (e)-[:OF_TYPE]->(:EventType)-[:MAPS_TO*0..1]->(t:EventType)
WHERE t.scheme = 'micropathways'
OPTIONAL MATCH (h)-[:HAS_MOTIVE]->(:Motive)-[:MAPS_TO*0..1]->(mo:Motive)
WHERE mo.scheme = 'micropathways'
OPTIONAL MATCH (h)-[:BY_METHOD]->(:Method)-[:MAPS_TO*0..1]->(me:Method)
WHERE me.scheme = 'micropathways'
WITH DISTINCT d, h, first_step, t, e.minutes_before AS minutes, mo, me
WITH d, h, first_step, t, minutes, mo, me,
     CASE WHEN minutes IS NULL THEN 6 WHEN minutes < 5 THEN 1 WHEN minutes < 15 THEN 2
          WHEN minutes < 60 THEN 3 WHEN minutes < 1440 THEN 4 ELSE 5 END AS band_order
RETURN h.uid AS uid, d.name AS dataset, h.year AS year,
       coalesce(mo.code, '') AS motive_code, coalesce(mo.label, '(not coded)') AS motive,
       coalesce(me.code, '') AS method_code, coalesce(me.label, '(not coded)') AS method,
       first_step, t.code AS first_conflict_code, t.label AS first_conflict, minutes,
       CASE band_order WHEN 1 THEN '<5 min' WHEN 2 THEN '5-15 min' WHEN 3 THEN '15-60 min'
            WHEN 4 THEN '1-24 h' WHEN 5 THEN '>24 h' ELSE 'not known' END AS band, band_order
ORDER BY band_order, minutes, uid, motive_code, method_code
