"""User queries: saved as versioned .cypher files, validated like the library, never overwritten, listed
beside the library, and runnable on both engines like any saved query."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from graph_model.backend import GraphBackend
from graph_model.errors import MicropathError
from queries.registry import Registry, SavedQueryError, default_registry, parse_saved_query
from queries.runner import run_saved_query
from queries.user_store import QUERY_DIR_ENV, UserQueryStore, default_query_dir
from tests.graph_fixtures import DATASETS, write_fixture

DATASETS_TEXT = ("MATCH (d:Dataset) WHERE d.synthetic = $synthetic OR $any_kind = true "
                 "RETURN d.name AS name, d.synthetic AS synthetic ORDER BY name")
PARAMS = {
    "synthetic": {"type": "boolean", "default": False, "description": "only synthetic (true) or real (false)"},
    "any_kind": {"type": "boolean", "default": True, "description": "ignore the flag"},
}


def header(path: Path) -> dict[str, object]:
    """The // TOML block of a file, read here with tomllib (not with the store)."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("//"):
            break
        lines.append(line[3:] if line.startswith("// ") else line[2:])
    return tomllib.loads("\n".join(lines))


@pytest.fixture
def store(tmp_path: Path) -> UserQueryStore:
    return UserQueryStore(tmp_path / "queries")


def save_datasets(store: UserQueryStore, title: str = "Datasets by kind", **extra: object) -> object:
    return store.save("my_datasets", title=title, description="Datasets, optionally only one kind.\nTwo lines.",
                      text=DATASETS_TEXT, parameters=PARAMS, **extra)  # type: ignore[arg-type]


def test_a_saved_query_is_a_library_format_file_under_its_name(store: UserQueryStore) -> None:
    saved = save_datasets(store)
    path = store.folder / "my_datasets" / "v1.cypher"
    assert saved.path == path and saved.version == 1  # type: ignore[attr-defined]
    meta = header(path)
    assert meta["name"] == "my_datasets" and meta["title"] == "Datasets by kind"
    assert meta["description"] == "Datasets, optionally only one kind.\nTwo lines."
    assert meta["version"] == 1 and meta["result"] == "table" and isinstance(meta["saved_at"], str)
    assert meta["parameters"] == PARAMS
    # the library's own parser reads it back unchanged
    query = parse_saved_query(path.read_text(encoding="utf-8"), path)
    assert query.text == DATASETS_TEXT
    assert [(p.name, p.type, p.default) for p in query.parameters] == [
        ("synthetic", "boolean", False), ("any_kind", "boolean", True)]


def test_saving_again_makes_a_new_version_and_never_touches_the_old(store: UserQueryStore) -> None:
    save_datasets(store)
    first = (store.folder / "my_datasets" / "v1.cypher").read_bytes()
    second = save_datasets(store, title="Datasets, second try", chart={"type": "bar", "x": "name", "y": "synthetic"},
                           result="chart")
    assert second.version == 2  # type: ignore[attr-defined]
    assert (store.folder / "my_datasets" / "v1.cypher").read_bytes() == first
    assert [v.version for v in store.versions("my_datasets")] == [1, 2]
    assert store.version("my_datasets").query.title == "Datasets, second try"
    assert store.version("my_datasets").query.chart == {"type": "bar", "x": "name", "y": "synthetic"}
    assert store.version("my_datasets", 1).query.title == "Datasets by kind"


def test_restoring_appends_a_copy_of_the_old_version(store: UserQueryStore) -> None:
    save_datasets(store)
    save_datasets(store, title="Changed")
    restored = store.restore("my_datasets", 1)
    assert restored.version == 3 and restored.restored_from == 1
    assert [v.version for v in store.versions("my_datasets")] == [1, 2, 3]
    v1, v3 = store.version("my_datasets", 1).query, store.version("my_datasets", 3).query
    assert (v3.title, v3.description, v3.text, v3.parameters, v3.result) == \
        (v1.title, v1.description, v1.text, v1.parameters, v1.result)
    assert header(store.folder / "my_datasets" / "v3.cypher")["restored_from"] == 1
    assert store.version("my_datasets", 2).query.title == "Changed"


@pytest.mark.parametrize(("name", "text", "params", "message"), [
    ("factor_prevalence", DATASETS_TEXT, PARAMS, "is a library query"),
    ("My Query", DATASETS_TEXT, PARAMS, "lower_snake_case"),
    ("writer", "CREATE (n:Dataset {name: 'x'}) RETURN n", {}, "refused: it contains CREATE"),
    ("unused", DATASETS_TEXT, {**PARAMS, "extra": {"type": "string", "default": ""}}, "declared but unused ['extra']"),
    ("undeclared", DATASETS_TEXT, {"synthetic": PARAMS["synthetic"]}, "used but undeclared ['any_kind']"),
    ("nodefault", DATASETS_TEXT, {**PARAMS, "synthetic": {"type": "boolean"}}, "needs a default"),
    ("badtype", DATASETS_TEXT, {**PARAMS, "synthetic": {"type": "date", "default": ""}}, "type must be one of"),
    ("badvalue", DATASETS_TEXT, {**PARAMS, "synthetic": {"type": "integer", "default": "x"}}, "expects integer"),
    ("notext", "   ", {}, "no Cypher"),
])
def test_bad_queries_are_refused_and_nothing_is_written(store: UserQueryStore, name: str, text: str,
                                                        params: dict[str, dict[str, object]], message: str) -> None:
    with pytest.raises(MicropathError, match=message.replace("[", r"\[").replace("]", r"\]")):
        store.save(name, title="t", description="d", text=text, parameters=params)
    assert not store.folder.exists() or list(store.folder.rglob("*.cypher")) == []


def test_empty_title_is_refused(store: UserQueryStore) -> None:
    with pytest.raises(SavedQueryError, match="non-empty string 'title'"):
        store.save("x", title="  ", description="d", text=DATASETS_TEXT, parameters=PARAMS)


def test_the_registry_lists_user_queries_beside_the_library(store: UserQueryStore) -> None:
    library_names = sorted(q.name for q in default_registry())
    assert [q.name for q in store.registry()] == library_names  # nothing saved yet
    save_datasets(store)
    save_datasets(store, title="Newest")
    merged = store.registry()
    assert sorted(q.name for q in merged) == sorted([*library_names, "my_datasets"])
    assert merged.get("my_datasets").title == "Newest" and merged.get("my_datasets").trusted is False
    assert merged.get("factor_prevalence").trusted is True
    assert "my_datasets" not in default_registry().queries  # the cached library is left alone


def test_a_clash_with_the_library_is_an_error_when_merging(tmp_path: Path) -> None:
    library = Registry()
    other = parse_saved_query("// name = \"factor_prevalence\"\n// title = \"t\"\n// description = \"d\"\n"
                              "MATCH (d:Dataset) RETURN d.name AS name")
    with pytest.raises(SavedQueryError, match="already used"):
        library.merged([other])


def test_unknown_names_and_versions_say_what_exists(store: UserQueryStore) -> None:
    save_datasets(store)
    with pytest.raises(SavedQueryError, match=r"no user query named 'nope'.*my_datasets"):
        store.versions("nope")
    with pytest.raises(SavedQueryError, match=r"has no version 7; it has versions \[1\]"):
        store.version("my_datasets", 7)


def test_the_folder_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(QUERY_DIR_ENV, str(tmp_path / "elsewhere"))
    assert default_query_dir() == tmp_path / "elsewhere"
    assert UserQueryStore().folder == tmp_path / "elsewhere"
    monkeypatch.delenv(QUERY_DIR_ENV)
    assert default_query_dir().parts[-2:] == ("micropathways", "queries")


def test_a_user_query_runs_on_both_engines(backend: GraphBackend, store: UserQueryStore) -> None:
    write_fixture(backend)
    save_datasets(store)
    registry = store.registry()
    everything = run_saved_query(backend, "my_datasets", {}, registry=registry)
    assert everything.rows == [{"name": d.name, "synthetic": d.synthetic}
                               for d in sorted(DATASETS, key=lambda d: d.name)]
    synthetic = run_saved_query(backend, "my_datasets", {"any_kind": False, "synthetic": True}, registry=registry)
    assert synthetic.rows == [{"name": d.name, "synthetic": True} for d in DATASETS if d.synthetic]
