// name = "pathway_transitions"
// title = "Transitions between micropathway steps"
// description = """Lag-1 transitions between event types along micropathways ((Event)-[:NEXT]->(Event),
// types compared on the common event-type scheme). transitions counts every occurrence; homicides counts
// the homicides whose pathway contains the transition at least once; prevalence is homicides divided by
// pathways (the homicides in the selection that have a micropathway); probability is transitions divided by
// all transitions out of the same event type (where pathways go next, i.e. where they diverge). A pathway's
// events are found by their record_uid."""
// result = "table"
// max_rows = 5000
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
// [parameters.motive]
// type = "string"
// default = ""
// description = "Only homicides with this common motive code, e.g. quarrel_revenge_temper (empty: all)"
// [parameters.min_homicides]
// type = "integer"
// default = 1
// description = "Only transitions found in at least this many homicides"
MATCH (d:Dataset)
WHERE $dataset = '' OR d.name = $dataset
MATCH (h:Homicide)-[:FROM_DATASET]->(d)
WHERE h.year >= $year_from AND h.year <= $year_to
OPTIONAL MATCH (h)-[:HAS_MOTIVE]->(:Motive)-[:MAPS_TO*0..1]->(m:Motive)
WHERE m.scheme = 'micropathways' AND m.code = $motive
WITH h, count(m) AS motive_matches
WHERE $motive = '' OR motive_matches > 0
MATCH (h)-[:FIRST_EVENT]->(:Event)
WITH collect(h.uid) AS selected, count(h) AS pathways
UNWIND selected AS homicide
MATCH (a:Event)-[:NEXT]->(b:Event)
WHERE a.record_uid = homicide
MATCH (a)-[:OF_TYPE]->(:EventType)-[:MAPS_TO*0..1]->(ta:EventType)
WHERE ta.scheme = 'micropathways'
MATCH (b)-[:OF_TYPE]->(:EventType)-[:MAPS_TO*0..1]->(tb:EventType)
WHERE tb.scheme = 'micropathways'
WITH pathways, ta, tb, count(*) AS transitions, count(DISTINCT homicide) AS homicides
WITH pathways, ta, sum(transitions) AS out_of_type,
     collect({code: tb.code, label: tb.label, transitions: transitions, homicides: homicides}) AS nexts
UNWIND nexts AS nx
WITH pathways, ta, out_of_type, nx
WHERE nx.homicides >= $min_homicides
RETURN ta.code AS from_code, ta.label AS from_type, nx.code AS to_code, nx.label AS to_type,
       nx.transitions AS transitions, nx.homicides AS homicides, pathways,
       1.0 * nx.homicides / pathways AS prevalence, 1.0 * nx.transitions / out_of_type AS probability
ORDER BY homicides DESC, transitions DESC, from_code, to_code
