// name = "escalation_summary"
// title = "Escalation times by motive"
// description = """How long escalations last, per common motive: homicides whose micropathway has a
// conflict step, counted in bands of minutes from the first conflict step to the fatal incident (as in
// escalation_times: '<5 min', '5-15 min' = 5 <= m < 15, '15-60 min', '1-24 h' = 60 <= m < 1440, '>24 h' = m
// >= 1440, and not known), with the median of the known times. A homicide with several motives counts under
// each; '(not coded)' collects homicides without a motive."""
// result = "table"
// max_rows = 1000
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
OPTIONAL MATCH (h)-[:HAS_MOTIVE]->(:Motive)-[:MAPS_TO*0..1]->(mo:Motive)
WHERE mo.scheme = 'micropathways'
WITH DISTINCT h, e.minutes_before AS minutes, coalesce(mo.code, '') AS motive_code,
     coalesce(mo.label, '(not coded)') AS motive
RETURN motive_code, motive, count(h) AS homicides,
       sum(CASE WHEN minutes < 5 THEN 1 ELSE 0 END) AS under_5_min,
       sum(CASE WHEN minutes >= 5 AND minutes < 15 THEN 1 ELSE 0 END) AS from_5_to_15_min,
       sum(CASE WHEN minutes >= 15 AND minutes < 60 THEN 1 ELSE 0 END) AS from_15_to_60_min,
       sum(CASE WHEN minutes >= 60 AND minutes < 1440 THEN 1 ELSE 0 END) AS from_1_to_24_h,
       sum(CASE WHEN minutes >= 1440 THEN 1 ELSE 0 END) AS over_24_h,
       sum(CASE WHEN minutes IS NULL THEN 1 ELSE 0 END) AS not_known,
       percentileCont(minutes, 0.5) AS median_minutes
ORDER BY homicides DESC, motive_code
