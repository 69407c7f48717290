"""The load-test tool itself (bench/loadtest.py) at a small scale, so that it keeps working: a real
`micropath serve` on a small real graph, a few simulated users for a few seconds. It asserts what the tool
reports (every endpoint exercised, no errors, the server's cache line), never a latency."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench import loadtest
from graph_model.embedded import EmbeddedBackend
from loaders import synthetic
from loaders.base import load


def test_the_load_test_exercises_every_endpoint_and_reports_the_servers_caches(tmp_path: Path) -> None:
    db = tmp_path / "graph.lbdb"
    with EmbeddedBackend(db, read_only=False) as backend:
        load("coded", synthetic.write_bundle(tmp_path / "bundle", cases=300, seed=3, name="small"), backend)
    args = argparse.Namespace(db=f"embedded:{db}", backend="embedded", cases=300, users=3, duration=6.0,
                              max_requests=400, think=0.1, user=None, password=None, vary_parameters=True)
    figures = loadtest.run(args)
    endpoints = figures["endpoints"]
    assert set(endpoints) == {"page", "layout", "dependencies", "router", "overview", "network", "workbench",
                              "overall"}
    assert all(row["requests"] > 0 for row in endpoints.values()), endpoints
    assert endpoints["overall"]["errors"] == 0, figures["error_samples"]
    assert endpoints["overall"]["requests"] == sum(r["requests"] for k, r in endpoints.items() if k != "overall")
    assert "lookups" in figures["server"] and "answered without computing" in figures["server"], figures["server"]


def test_typed_parameters_are_what_a_user_types_into_the_form() -> None:
    import random

    plan = loadtest.Plan("http://x", [], ["a", "b"], (2003, 2024), [], 0.1, 0.0, 1)
    for seed in range(50):
        form = loadtest.typed_parameters(random.Random(seed), plan)
        assert form["dataset"] in ("", "a", "b")
        assert 2003 <= int(form["year_from"]) <= int(form["year_to"]) <= 2024


def test_form_values_reach_the_saved_query(tmp_path: Path) -> None:
    """The parameters the simulated users type are the ones the server runs (not silently the defaults)."""
    import json

    import pandas as pd

    from dashboard.app import create_app

    bundle = synthetic.write_bundle(tmp_path / "bundle", cases=200, seed=4, name="small")
    db = tmp_path / "graph.lbdb"
    with EmbeddedBackend(db, read_only=False) as backend:
        load("coded", bundle, backend)
    years = pd.read_csv(bundle / "cases.csv")["year"]
    year = int(years.mode()[0])
    client = create_app(f"embedded:{db}", query_dir=tmp_path / "queries").server.test_client()
    deps = client.get("/_dash-dependencies").get_json()
    body = loadtest.callback_body(loadtest.find_callback(deps, "wb-table.data"),
                                  {("wb-query", "value"): "homicides_by_year", ("wb-run", "n_clicks"): 1},
                                  ["wb-run.n_clicks"], {"dataset": "small", "year_from": str(year),
                                                        "year_to": str(year)})
    answer = client.post("/_dash-update-component", data=json.dumps(body), content_type="application/json")
    rows = answer.get_json()["response"]["wb-table"]["data"]
    assert rows == [{"dataset": "small", "year": year, "homicides": int((years == year).sum())}]
