"""Graph model derived from the ontology: schema, vocabularies and the backends that store it."""
