// name = "pathway_of_homicide"
// title = "Micropathway of one homicide"
// description = """The ordered steps of one homicide's micropathway, as a graph: one row per step, an edge
// from the step's event (source) to the next step's event (target, null after the last step) with the NEXT
// minutes between them. Captions are the event types as coded; type_code is the common event type.
// minutes_before is the time from the step to the fatal incident."""
// result = "graph"
// max_rows = 200
// timeout_s = 30
// [parameters.uid]
// type = "string"
// default = ""
// description = "uid of the homicide, e.g. coded:case-17 (empty: no result)"
MATCH (e:Event)
WHERE e.record_uid = $uid
MATCH (e)-[:OF_TYPE]->(t:EventType)
OPTIONAL MATCH (t)-[:MAPS_TO*0..1]->(ct:EventType)
WHERE ct.scheme = 'micropathways'
OPTIONAL MATCH (e)-[r:NEXT]->(nx:Event)
OPTIONAL MATCH (nx)-[:OF_TYPE]->(nt:EventType)
RETURN e.position AS step, e.uid AS source, 'Event' AS source_label, t.label AS source_caption,
       CASE WHEN nx IS NULL THEN NULL ELSE 'NEXT' END AS rel,
       nx.uid AS target, CASE WHEN nx IS NULL THEN NULL ELSE 'Event' END AS target_label,
       nt.label AS target_caption, ct.code AS type_code, e.minutes_before AS minutes_before,
       r.minutes AS minutes, e.record_uid AS homicide
ORDER BY step
