// name = "homicide_card"
// title = "Homicide card"
// description = """Everything the graph holds about one homicide (or incident) in one row: its properties,
// the factors coded present and coded absent (labels as the source words them; a factor missing from both
// lists was not coded, or for presence-only sources not tagged), motives, methods, victim-suspect
// relationships, areas (label and code), the number of suspects and of micropathway steps, and the victims
// by position with their age group and sex only. Lists are in label order."""
// result = "table"
// max_rows = 10
// timeout_s = 30
// [parameters.uid]
// type = "string"
// default = ""
// description = "uid of the homicide or incident, e.g. london-mps:1 (empty: no result)"
MATCH (h)-[:FROM_DATASET]->(d:Dataset)
WHERE h.uid = $uid
OPTIONAL MATCH (h)-[r:HAS_FACTOR]->(f:Factor)
WITH h, d, r, f
ORDER BY f.label
SKIP 0
WITH h, d, collect(CASE WHEN r.present THEN f.label END) AS factors_present,
     collect(CASE WHEN NOT r.present THEN f.label END) AS factors_absent
OPTIONAL MATCH (h)-[:HAS_MOTIVE]->(mo:Motive)
WITH h, d, factors_present, factors_absent, mo
ORDER BY mo.label
SKIP 0
WITH h, d, factors_present, factors_absent, collect(mo.label) AS motives
OPTIONAL MATCH (h)-[:BY_METHOD]->(me:Method)
WITH h, d, factors_present, factors_absent, motives, me
ORDER BY me.label
SKIP 0
WITH h, d, factors_present, factors_absent, motives, collect(me.label) AS methods
OPTIONAL MATCH (h)-[:HAS_RELATIONSHIP]->(re:Relationship)
WITH h, d, factors_present, factors_absent, motives, methods, re
ORDER BY re.label
SKIP 0
WITH h, d, factors_present, factors_absent, motives, methods, collect(re.label) AS relationships
OPTIONAL MATCH (h)-[:IN_AREA]->(a:Area)
WITH h, d, factors_present, factors_absent, motives, methods, relationships, a
ORDER BY a.label
SKIP 0
WITH h, d, factors_present, factors_absent, motives, methods, relationships,
     collect(CASE WHEN a IS NULL THEN NULL ELSE a.label + ' (' + a.code + ')' END) AS areas
OPTIONAL MATCH (h)-[:HAS_SUSPECT]->(s:Suspect)
WITH h, d, factors_present, factors_absent, motives, methods, relationships, areas, count(s) AS suspects
OPTIONAL MATCH (e:Event)
WHERE e.record_uid = h.uid
WITH h, d, factors_present, factors_absent, motives, methods, relationships, areas, suspects,
     count(e) AS pathway_steps
OPTIONAL MATCH (h)-[:HAS_VICTIM]->(v:Victim)
WITH h, d, factors_present, factors_absent, motives, methods, relationships, areas, suspects,
     pathway_steps, v
ORDER BY v.position
SKIP 0
WITH h, d, factors_present, factors_absent, motives, methods, relationships, areas, suspects,
     pathway_steps,
     collect(CASE WHEN v IS NULL THEN NULL
                  ELSE {position: v.position, age_group: v.age_group, sex: v.sex} END) AS victims
RETURN h.uid AS uid, d.name AS dataset, d.synthetic AS synthetic, h.case_id AS case_id,
       h.year AS year, h.month AS month, h.offence_type AS offence_type, h.kind AS kind,
       h.iccs AS iccs, h.solved AS solved, h.victim_count AS victim_count,
       h.coding_frame_version AS coding_frame_version, factors_present, factors_absent, motives,
       methods, relationships, areas, suspects, pathway_steps, victims
