"""Load test on loopback: concurrent simulated users working the dashboard of a real `micropath serve`.

    python bench/loadtest.py --backend embedded|neo4j [--cases 100000] [--users 20] [--duration 60]
                             [--max-requests 20000] [--vary-parameters] [--user NAME --password PW]
                             [--out FILE.json]

The graph is a SYNTHETIC bundle of --cases homicides (seed 7), built once per backend and cached under
var/bench/loadtest-<cases>/ (embedded: graph.lbdb; Neo4j: a private server's data folder, started with an
8 GB heap and a 1 GB page cache on a free port, and stopped at the end). `micropath serve` runs as a
subprocess on 127.0.0.1; every request is real HTTP to it, nothing else is contacted.

Each simulated user (a thread with its own HTTP session and seeded random choices) repeats, with a think
time of 0–2×--think seconds between requests:

* ``page`` — open a page: GET the page (/, /network, /workbench), /_dash-layout, /_dash-dependencies;
* ``router`` — the Dash pages router callback for that page (what the browser posts after loading it);
* ``overview`` — the overview's figures for a random filter (dataset, year range, motive);
* ``network`` — the factor network for a random filter (the network page's filter change);
* ``workbench`` — the workbench running a saved query (random among :data:`SAVED_QUERIES`) with its default
  parameters, or, with --vary-parameters, with a random dataset and year range typed into its form half the
  time (so most of those runs ask for a result nobody asked for before, and the server must compute it).

A request is an error when the HTTP status is not 200, or when the panel status it returns says
``error`` or ``timeout``. The run stops after --duration seconds or --max-requests requests, whichever comes
first (then waits for the requests in flight). It prints, per endpoint and overall: requests, throughput,
p50/p95/p99 latency, errors; and writes the same as JSON with --out. Targets (issue 7): no errors, p95 < 1 s.

Login: with --user/--password (or MICROPATH_LOADTEST_USER / MICROPATH_LOADTEST_PASSWORD), each simulated
user signs in through /login (dashboard/auth.py) and sends the CSRF token with every POST; without them
the server runs with MICROPATH_AUTH=off (loopback only).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.server import free_port, running_dashboard  # noqa: E402  (the repository on the path first)

CACHE = REPO / "var" / "bench"
SEED = 7
# saved queries that take dataset / year_from / year_to (the form fields --vary-parameters fills in)
YEAR_QUERIES = ("homicides_by_year", "homicides_by_motive", "homicides_by_method", "homicides_by_area",
                "factor_prevalence", "victim_suspect_relationships")
SAVED_QUERIES = ("homicides_by_year", "homicides_by_motive", "homicides_by_method", "homicides_by_area",
                 "factor_prevalence", "dataset_summary", "victim_suspect_relationships", "incidents_by_kind")
PAGES = {"/": "ov-", "/network": "net-", "/workbench": "wb-"}
ERROR_MARKS = ('"data-status": "error"', '"data-status":"error"', '"data-status": "timeout"',
               '"data-status":"timeout"')


# ---- Dash callback requests -------------------------------------------------------------------------------
def parse_outputs(output: str) -> list[dict[str, Any]]:
    """The ``outputs`` list Dash's renderer sends for a callback's ``output`` key."""
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    out = []
    for part in parts:
        ident, prop = part.rsplit(".", 1) if not part.endswith("}") else (part, "")
        if ident.startswith("{"):
            component: Any = json.loads(ident)
        else:
            component = ident
        out.append({"id": component, "property": prop.split("@")[0]})
    return out


def callback_body(dependency: dict[str, Any], values: dict[tuple[str, str], Any],
                  changed: list[str], matched: dict[str, Any] | None = None) -> dict[str, Any]:
    """The POST body of /_dash-update-component for ``dependency`` (from /_dash-dependencies); inputs and
    states take ``values[(id, property)]`` (None if absent). Pattern-matching ALL states take ``matched``:
    {name: value} of the components ``{"type": <the pattern's type>, "name": name}`` (none: an empty list)."""
    def item(spec: dict[str, Any]) -> Any:
        if '"ALL"' in spec["id"] or "[\"ALL\"]" in spec["id"]:
            kind = json.loads(spec["id"])["type"]
            return [{"id": {"name": name, "type": kind}, "property": spec["property"],
                     "value": {"name": name, "type": kind} if spec["property"] == "id" else value}
                    for name, value in (matched or {}).items()]
        return {"id": spec["id"], "property": spec["property"], "value": values.get((spec["id"], spec["property"]))}

    outputs = parse_outputs(dependency["output"])
    return {"output": dependency["output"], "outputs": outputs if dependency["output"].startswith("..") else outputs[0],
            "inputs": [item(i) for i in dependency["inputs"]], "state": [item(s) for s in dependency["state"]],
            "changedPropIds": changed}


def find_callback(dependencies: list[dict[str, Any]], first_output: str) -> dict[str, Any]:
    for dependency in dependencies:
        if dependency["output"].lstrip(".").startswith(first_output):
            return dependency
    raise LookupError(f"no Dash callback whose first output is {first_output!r}")


def panel_failed(text: str) -> bool:
    return any(mark in text for mark in ERROR_MARKS)


# ---- the simulated user -----------------------------------------------------------------------------------
@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    samples: dict[str, str] = field(default_factory=dict)  # one error message per endpoint
    lock: threading.Lock = field(default_factory=threading.Lock)
    count: int = 0

    def add(self, endpoint: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies[endpoint].append(seconds)
            self.count += 1
            if error:
                self.errors[endpoint] += 1
                self.samples.setdefault(endpoint, error[:300])


@dataclass
class Plan:
    base: str
    deps: list[dict[str, Any]]
    datasets: list[str]
    years: tuple[int, int]
    motives: list[str]
    think_s: float
    deadline: float
    max_requests: int
    user: str | None = None
    password: str | None = None
    vary: bool = False


def simulated_user(number: int, plan: Plan, stats: Stats) -> None:
    rng = random.Random(SEED * 1000 + number)
    http = requests.Session()
    if plan.user:
        sign_in(http, plan)
    network = find_callback(plan.deps, "net-graph.elements")
    overview = find_callback(plan.deps, "ov-badges.children")
    workbench = find_callback(plan.deps, "wb-table.data")
    router = find_callback(plan.deps, "_pages_content.children")
    while time.monotonic() < plan.deadline and stats.count < plan.max_requests:
        action = rng.choices(["page", "overview", "network", "workbench"], weights=[2, 3, 3, 3])[0]
        if action == "page":
            path = rng.choice(list(PAGES))
            for endpoint, url in (("page", path), ("layout", "/_dash-layout"), ("dependencies", "/_dash-dependencies")):
                timed(stats, endpoint, lambda u=url: http.get(plan.base + u, timeout=120))
            body = callback_body(router, {("_pages_location", "pathname"): path,
                                          ("_pages_location", "search"): ""}, ["_pages_location.pathname"])
            post(http, plan, stats, "router", body)
        elif action in ("overview", "network"):
            prefix = "ov" if action == "overview" else "net"
            first = rng.randint(plan.years[0], plan.years[1])
            values = {(f"{prefix}-dataset", "value"): rng.choice(["", *plan.datasets]),
                      (f"{prefix}-years", "value"): [first, rng.randint(first, plan.years[1])],
                      (f"{prefix}-area", "value"): "", (f"{prefix}-method", "value"): "",
                      (f"{prefix}-relationship", "value"): "",
                      (f"{prefix}-motive", "value"): rng.choice(["", "", *plan.motives]),
                      (f"{prefix}-years", "min"): plan.years[0], (f"{prefix}-years", "max"): plan.years[1]}
            dependency = overview if action == "overview" else network
            post(http, plan, stats, action, callback_body(dependency, values, [f"{prefix}-years.value"]))
        else:
            name = rng.choice(SAVED_QUERIES)
            values = {("wb-query", "value"): name, ("wb-run", "n_clicks"): 1}
            form = typed_parameters(rng, plan) if plan.vary and name in YEAR_QUERIES and rng.random() < 0.5 else {}
            post(http, plan, stats, "workbench", callback_body(workbench, values, ["wb-run.n_clicks"], form))
        time.sleep(rng.uniform(0, 2 * plan.think_s))


def typed_parameters(rng: random.Random, plan: Plan) -> dict[str, str]:
    """What a user types into a saved query's form: a dataset (or none) and a year range, as text."""
    first = rng.randint(plan.years[0], plan.years[1])
    return {"dataset": rng.choice(["", *plan.datasets]), "year_from": str(first),
            "year_to": str(rng.randint(first, plan.years[1]))}


def sign_in(http: requests.Session, plan: Plan) -> None:
    form = http.get(plan.base + "/login", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]*)"', form.text)
    answer = http.post(plan.base + "/login", data={"name": plan.user, "password": plan.password, "next": "/",
                                                    "csrf_token": token.group(1) if token else ""}, timeout=30)
    if answer.status_code != 200 or "/login" in answer.url:
        raise SystemExit(f"signing in as {plan.user!r} failed (HTTP {answer.status_code}); check --user/--password")


def post(http: requests.Session, plan: Plan, stats: Stats, endpoint: str, body: dict[str, Any]) -> None:
    headers = {"Content-Type": "application/json"}
    token = http.cookies.get("_csrf_token")
    if token:
        headers["X-CSRFToken"] = token
    timed(stats, endpoint, lambda: http.post(plan.base + "/_dash-update-component", data=json.dumps(body),
                                             headers=headers, timeout=120))


def timed(stats: Stats, endpoint: str, send: Any) -> None:
    start = time.perf_counter()
    error = None
    try:
        answer = send()
        if answer.status_code != 200:
            error = f"HTTP {answer.status_code}: {answer.text[:200]}"
        elif panel_failed(answer.text):
            error = "panel status error/timeout: " + answer.text[:200]
        elif answer.request.method == "POST" and '"response"' not in answer.text:
            error = "a callback answered without a response: " + answer.text[:200]
    except requests.RequestException as exc:
        error = f"{type(exc).__name__}: {exc}"
    stats.add(endpoint, time.perf_counter() - start, error)


# ---- the report -------------------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def report(stats: Stats, elapsed_s: float, label: str) -> dict[str, Any]:
    rows = {}
    everything = [v for values in stats.latencies.values() for v in values]
    for endpoint, values in [*sorted(stats.latencies.items()), ("overall", everything)]:
        errors = sum(stats.errors.values()) if endpoint == "overall" else stats.errors.get(endpoint, 0)
        rows[endpoint] = {"requests": len(values), "per_s": len(values) / elapsed_s,
                          "p50_ms": 1000 * statistics.median(values), "p95_ms": 1000 * percentile(values, 0.95),
                          "p99_ms": 1000 * percentile(values, 0.99), "max_ms": 1000 * max(values), "errors": errors}
    print(f"\n{label}: {elapsed_s:.1f} s")
    header = ("endpoint", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors")
    print(f"{header[0]:<14}" + "".join(f"{h:>9}" for h in header[1:]))
    for endpoint, row in rows.items():
        print(f"{endpoint:<14}{row['requests']:>9}{row['per_s']:>9.1f}{row['p50_ms']:>9.0f}{row['p95_ms']:>9.0f}"
              f"{row['p99_ms']:>9.0f}{row['max_ms']:>9.0f}{row['errors']:>9}")
    overall = rows["overall"]
    verdict = "met" if overall["errors"] == 0 and overall["p95_ms"] < 1000 else "NOT met"
    print(f"targets (no errors, p95 < 1 s): {verdict}")
    for endpoint, sample in stats.samples.items():
        print(f"  first error on {endpoint}: {sample}")
    return {"label": label, "elapsed_s": elapsed_s, "endpoints": rows, "targets_met": verdict == "met",
            "error_samples": stats.samples}


# ---- graphs and the server --------------------------------------------------------------------------------
def bundle_folder(cases: int) -> Path:
    from loaders import synthetic

    folder = CACHE / f"loadtest-{cases}" / "bundle"
    if not (folder / "bundle.toml").exists():
        synthetic.write_bundle(folder, cases=cases, seed=SEED, name=f"loadtest-{cases}")
    return folder


def embedded_db(cases: int) -> str:
    from graph_model.embedded import EmbeddedBackend
    from loaders.base import load

    db = CACHE / f"loadtest-{cases}" / "graph.lbdb"
    done = db.with_name("graph.lbdb.complete")
    if not done.exists():
        start = time.perf_counter()
        with EmbeddedBackend(db, read_only=False) as backend:
            load("coded", bundle_folder(cases), backend)
        done.write_text("loaded\n")
        print(f"built the embedded graph of {cases:,} homicides in {time.perf_counter() - start:.0f} s", flush=True)
    return f"embedded:{db}"


def neo4j_db(cases: int) -> tuple[str, Path]:
    from graph_model import neo4j_service
    from graph_model.neo4j_backend import Neo4jBackend
    from loaders.base import load

    os.environ.setdefault("NEO4J_USER", "neo4j")
    os.environ.setdefault("NEO4J_PASSWORD", "micropathways-bench")
    data = CACHE / f"loadtest-{cases}" / "neo4j"
    uri = neo4j_service.start(data, free_port(), heap="8g", page_cache="1g")
    done = data / "complete"
    if not done.exists():
        start = time.perf_counter()
        with Neo4jBackend(uri) as backend:
            backend.delete_all()
            load("coded", bundle_folder(cases), backend)
        done.write_text("loaded\n")
        print(f"built the Neo4j graph of {cases:,} homicides in {time.perf_counter() - start:.0f} s", flush=True)
    return uri, data


def graph_facts(db: str) -> tuple[list[str], tuple[int, int], list[str]]:
    """Datasets, year span and motive codes, read once from the graph (the filters the users pick from)."""
    from graph_model.connect import open_backend

    with open_backend(db) as backend:
        rows = backend.run_read("MATCH (h:Homicide)-[:FROM_DATASET]->(d:Dataset) RETURN d.name AS name, "
                                "min(h.year) AS lo, max(h.year) AS hi", timeout_s=300).rows
        motives = backend.run_read("MATCH (:Homicide)-[:HAS_MOTIVE]->(m:Motive) RETURN DISTINCT m.code AS code "
                                   "ORDER BY code", timeout_s=300).rows
    years = (min(int(r["lo"]) for r in rows), max(int(r["hi"]) for r in rows))
    return [str(r["name"]) for r in rows], years, [str(r["code"]) for r in motives][:8]


def run(args: argparse.Namespace) -> dict[str, Any]:
    CACHE.mkdir(parents=True, exist_ok=True)
    neo4j_data = None
    if args.db:
        db = args.db
    elif args.backend == "embedded":
        db = embedded_db(args.cases)
    else:
        db, neo4j_data = neo4j_db(args.cases)
    log = CACHE / f"serve-{os.getpid()}.log"
    env = {"MICROPATH_AUTH": ""} if args.user else {"MICROPATH_AUTH": "off"}  # with --user: login required
    try:
        with running_dashboard(db, log, env=env, timeout_s=900) as base:
            figures = drive(base, db, args)
    finally:  # the server has stopped by now, printing what its caches answered
        if neo4j_data is not None:
            from graph_model import neo4j_service

            neo4j_service.stop(neo4j_data)
    figures["server"] = server_summary(log)
    print(f"server: {figures['server']}")
    return figures


def drive(base: str, db: str, args: argparse.Namespace) -> dict[str, Any]:
    """Warm the server up, run the simulated users until the deadline or the request cap, and report."""
    datasets, years, motives = graph_facts(db)
    warm = requests.Session()
    plan = Plan(base, [], datasets, years, motives, args.think, 0.0, args.max_requests, args.user, args.password,
                args.vary_parameters)
    if args.user:
        sign_in(warm, plan)
    plan.deps = warm.get(base + "/_dash-dependencies", timeout=60).json()
    start = time.perf_counter()
    # warm-up, not counted: the server builds its record index on first use
    post(warm, plan, Stats(), "warm", callback_body(find_callback(plan.deps, "net-graph.elements"), {},
                                                    ["net-years.value"]))
    print(f"server ready, index warm in {time.perf_counter() - start:.1f} s; {args.users} users for "
          f"{args.duration:.0f} s (at most {args.max_requests} requests)", flush=True)
    stats = Stats()
    plan.deadline = time.monotonic() + args.duration
    users = [threading.Thread(target=simulated_user, args=(n, plan, stats), daemon=True)
             for n in range(args.users)]
    start = time.perf_counter()
    for user in users:
        user.start()
    for user in users:
        user.join(timeout=args.duration + 300)
    elapsed = time.perf_counter() - start
    mix = "varied parameters" if args.vary_parameters else "default parameters"
    return report(stats, elapsed, f"{args.backend if not args.db else db}, {args.users} users, "
                                 f"{args.cases:,} synthetic homicides, saved queries with {mix}")


def server_summary(log: Path) -> str:
    """The line `micropath serve` prints when it stops: how many lookups its caches answered."""
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.startswith("stopped; ")]
    return lines[-1].removeprefix("stopped; ") if lines else "(the server printed no summary)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["embedded", "neo4j"], default="embedded")
    parser.add_argument("--cases", type=int, default=100_000, help="synthetic homicides (default 100000)")
    parser.add_argument("--users", type=int, default=20, help="concurrent simulated users (default 20)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--max-requests", type=int, default=20_000, help="stop after this many (default 20000)")
    parser.add_argument("--think", type=float, default=0.5, help="mean think time between requests, s")
    parser.add_argument("--vary-parameters", action="store_true",
                        help="half the workbench runs type a random dataset and year range into the form")
    parser.add_argument("--db", default=None, help="use this graph instead of the cached synthetic one")
    parser.add_argument("--user", default=os.environ.get("MICROPATH_LOADTEST_USER"))
    parser.add_argument("--password", default=os.environ.get("MICROPATH_LOADTEST_PASSWORD"))
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.duration > 3600 or args.users < 1 or args.users > 200:
        parser.error("--duration must be in (0, 3600] s and --users in [1, 200]")
    figures = run(args)
    if args.out:
        args.out.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
