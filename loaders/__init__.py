"""Loaders: read a source file, validate it, map it onto the ontology as a GraphBundle."""
