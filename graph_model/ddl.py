"""Engine DDL derived from the schema: LadybugDB tables and Neo4j constraints/indexes."""

from __future__ import annotations

from graph_model.schema import GraphSchema, PropertySpec

LADYBUG_TYPES = {"string": "STRING", "integer": "INT64", "boolean": "BOOLEAN", "double": "DOUBLE"}

# Properties looked up often enough to deserve a Neo4j range index (the key gets a constraint).
INDEXED_PROPERTIES = ("dataset", "year", "scheme", "code", "record_uid")


def _columns(props: tuple[PropertySpec, ...]) -> list[str]:
    return [f"{p.name} {LADYBUG_TYPES[p.type]}" for p in props]


def ladybug_node_ddl(schema: GraphSchema) -> list[str]:
    statements = []
    for spec in schema.nodes.values():
        cols = [f"{spec.key.name} STRING PRIMARY KEY", *_columns(tuple(p for p in spec.properties if not p.key))]
        statements.append(f"CREATE NODE TABLE IF NOT EXISTS {spec.label}({', '.join(cols)})")
    return statements


def ladybug_rel_ddl(schema: GraphSchema) -> list[str]:
    statements = []
    for spec in schema.rels.values():
        parts = [f"FROM {a} TO {b}" for a, b in spec.pairs] + _columns(spec.properties)
        statements.append(f"CREATE REL TABLE IF NOT EXISTS {spec.type}({', '.join(parts)})")
    return statements


def ladybug_ddl(schema: GraphSchema) -> list[str]:
    """All CREATE statements, nodes first (relationship tables refer to them)."""
    return ladybug_node_ddl(schema) + ladybug_rel_ddl(schema)


def neo4j_ddl(schema: GraphSchema) -> list[str]:
    """Uniqueness constraints on every key and range indexes on common filters (Neo4j 5)."""
    statements = []
    for spec in schema.nodes.values():
        key = spec.key.name
        statements.append(
            f"CREATE CONSTRAINT {spec.label.lower()}_{key}_unique IF NOT EXISTS "
            f"FOR (n:{spec.label}) REQUIRE n.{key} IS UNIQUE")
        for prop in spec.properties:
            if prop.name in INDEXED_PROPERTIES:
                statements.append(
                    f"CREATE INDEX {spec.label.lower()}_{prop.name} IF NOT EXISTS "
                    f"FOR (n:{spec.label}) ON (n.{prop.name})")
    return statements
