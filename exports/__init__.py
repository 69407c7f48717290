"""Open exports of the graph: RDF (Turtle, JSON-LD) under the ontology, GraphML for Gephi, RDF Data Cube
statistics, and the reverse path (RDF back into a GraphBundle). See docs/exports.md."""
