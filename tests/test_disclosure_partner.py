"""The partner role on real data, on both engines: only partner-safe queries run, differencing attacks are
refused (each names the filters and the cell it would have isolated, shown to be small with the analyst's
queries), every published cell of the London partner tables is >= 10 (or an undisclosive zero), the three
tables together leave every small cell unrecoverable, and the CLI prints the same suppressed output.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from cli.main import main
from disclosure.policy import AccessRefused, allowed_queries, authorize_adhoc, authorize_query, dimension_cycle
from disclosure.release import run_partner_query
from graph_model.backend import GraphBackend
from loaders.base import load
from queries.registry import default_registry, parse_saved_query
from queries.runner import run_saved_query
from tests.conftest import LONDON_CSV, open_fresh
from tests.test_disclosure import MARK, TOTAL, assert_protected

PARTNER = ["partner_factor_status", "partner_homicides_by_area_year_band", "partner_homicides_by_year_band_method"]


@pytest.fixture(scope="module", params=["embedded", "neo4j"])
def london(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphBackend]:
    backend = open_fresh(request.param, tmp_path_factory.mktemp(f"partner-{request.param}"), request)
    load("london-mps", LONDON_CSV, backend)
    try:
        yield backend
    finally:
        backend.close()


@pytest.fixture(scope="module")
def csv() -> pd.DataFrame:
    frame = pd.read_csv(LONDON_CSV)
    return frame.assign(band=frame["Recorded Year"] - frame["Recorded Year"] % 5)


def test_partner_role_lists_only_safe_queries() -> None:
    assert [q.name for q in allowed_queries("partner")] == PARTNER
    assert len(allowed_queries("analyst")) == len(default_registry())
    assert dimension_cycle(allowed_queries("partner")) == []


@pytest.mark.parametrize("name", ["homicides_by_area", "homicide_card", "similar_homicides", "factor_prevalence"])
def test_partner_role_refuses_queries_not_marked_safe(name: str) -> None:
    with pytest.raises(AccessRefused, match="not marked safe for partners"):
        authorize_query("partner", name, {})
    authorize_query("analyst", name, {})  # the same query is fine for an analyst


def test_partner_role_refuses_adhoc_cypher() -> None:
    with pytest.raises(AccessRefused, match="ad-hoc Cypher is refused"):
        authorize_adhoc("partner")
    authorize_adhoc("analyst")
    with pytest.raises(AccessRefused, match="unknown role"):
        authorize_adhoc("guest")


def test_a_dimension_cycle_is_detected() -> None:
    def q(name: str, dims: list[str]) -> Any:
        return parse_saved_query(f'// name = "{name}"\n// title = "t"\n// description = "d"\n// [partner]\n'
                                 f'// safe = true\n// dimensions = {json.dumps(dims)}\n// counts = ["n"]\n'
                                 f"MATCH (h:Homicide) RETURN h.a AS a, h.b AS b, h.c AS c, count(h) AS n")
    assert dimension_cycle([q("ab", ["a", "b"]), q("bc", ["b", "c"])]) == []
    assert dimension_cycle([q("ab", ["a", "b"]), q("bc", ["b", "c"]), q("ac", ["a", "c"])])


def _analyst(backend: GraphBackend, name: str, **params: Any) -> list[dict[str, Any]]:
    return run_saved_query(backend, name, params).rows


def _area_count(rows: list[dict[str, Any]], borough: str) -> int:
    return sum(r["homicides"] for r in rows if r["area"] == borough)


def test_differencing_attack_on_year_ranges_is_refused(london: GraphBackend, csv: pd.DataFrame) -> None:
    """Attack: homicides in a borough 2003-2010 minus 2003-2009 isolates that borough's 2010 count."""
    in_2010 = csv[csv["Recorded Year"] == 2010].groupby("Borough").size()
    borough = sorted(b for b, n in in_2010.items() if 0 < n < 10 and b != "Unmapped" and "&" not in b)[0]
    wide = _area_count(_analyst(london, "homicides_by_area", dataset="london-mps", year_from=2003, year_to=2010),
                       borough)
    narrow = _area_count(_analyst(london, "homicides_by_area", dataset="london-mps", year_from=2003, year_to=2009),
                         borough)
    assert wide - narrow == in_2010[borough], f"the attack is real for an analyst: {borough} 2010"
    for years in ({"year_from": 2003, "year_to": 2010}, {"year_from": 2003, "year_to": 2009}):
        with pytest.raises(AccessRefused, match="not marked safe"):
            run_partner_query(london, "homicides_by_area", {"dataset": "london-mps", **years})
        with pytest.raises(AccessRefused, match="no parameter"):
            run_partner_query(london, "partner_homicides_by_area_year_band", {"dataset": "london-mps", **years})


def test_differencing_attack_all_datasets_minus_one_is_refused(london: GraphBackend) -> None:
    """Attack: a table over every dataset minus the same table over the others isolates the one left out."""
    with pytest.raises(AccessRefused, match="needs one whole dataset"):
        run_partner_query(london, "partner_homicides_by_year_band_method", {"dataset": ""})


def test_differencing_attack_with_adjacent_bands_gets_nothing_new(london: GraphBackend, csv: pd.DataFrame) -> None:
    """Attack: with fixed bands, the nearest thing to 2003-2010 minus 2003-2009 is the 2010-2014 band, itself a
    published, suppressed cell: Bromley 2010-2014 is hidden, and no pair of partner tables pins it."""
    release = run_partner_query(london, "partner_homicides_by_area_year_band", {"dataset": "london-mps"})
    frame = release.published()
    bromley_2010s = int(((csv.Borough == "Bromley") & (csv.band == 2010)).sum())
    assert bromley_2010s < 10
    cell = frame[(frame.area == "Bromley (E09000006)") & (frame.year_band == 2010)].homicides.tolist()
    assert cell == [MARK]


def test_partner_tables_of_london_publish_no_small_count(london: GraphBackend, csv: pd.DataFrame) -> None:
    releases = {name: run_partner_query(london, name, {"dataset": "london-mps"}) for name in PARTNER}
    for name, release in releases.items():
        frame = release.published()
        shown = frame[frame.homicides != MARK]
        assert len(shown), name
        # zero is published only where it discloses nothing: never as a factor's 'present' or 'absent'
        disclosive_zero = shown.status.isin(["present", "absent"]) if "status" in shown else False
        assert all((shown.homicides >= 10) | ((shown.homicides == 0) & ~disclosive_zero)), name
    # totals agree with the raw file (pandas), where published
    bm = releases["partner_homicides_by_year_band_method"].published()
    assert bm[(bm.year_band == TOTAL) & (bm.method == TOTAL)].homicides.tolist() == [len(csv)]
    bands = bm[(bm.method == TOTAL) & (bm.year_band != TOTAL)].set_index("year_band").homicides.to_dict()
    assert bands == {b: n if n >= 10 else MARK for b, n in csv.groupby("band").size().items()}
    area = releases["partner_homicides_by_area_year_band"].published()
    by_borough = csv[csv.Borough != "Unmapped"].groupby(["Borough", "band"]).size()
    for (borough, band), n in by_borough.items():
        name = borough.replace("&", "and").lower()  # the file writes 'Barking & Dagenham'
        value = area[(area.area.str.split(" [(]E09").str[0].str.lower() == name)
                     & (area.year_band == band)].homicides.tolist()
        assert value == ([n] if n >= 10 else [MARK]) or (value == [MARK] and n >= 10), (borough, band, n, value)
    # an attacker holding all three tables recovers no small count (LP bounds >= 10)
    raw = {}
    tables = []
    for name, release in releases.items():
        (table,) = release.tables.values()
        spec = release.query.partner
        assert spec is not None
        rows = run_saved_query(london, name, {"dataset": "london-mps"}).rows
        grid = {tuple(r[d] for d in spec.dimensions): r["homicides"] for r in rows}
        cells = table.cells[~table.cells["_margin"]]
        raw[table.name] = {tuple(k): grid.get(tuple(k), 0) for k in cells[list(spec.dimensions)].values.tolist()}
        tables.append(table)
    assert assert_protected(tables, raw) > 20  # the attacker reads only the published frames


def test_cli_partner_output_is_suppressed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"embedded:{tmp_path / 'cli.lbdb'}"
    assert main(["load", "london-mps", str(LONDON_CSV), "--db", db, "--quiet"]) == 0
    capsys.readouterr()
    name = "partner_homicides_by_area_year_band"
    assert main(["partner", "query", name, "--db", db, "--format", "json"]) == 0
    out, err = capsys.readouterr()
    rows = json.loads(out)
    assert "[c] = suppressed" in err and any(r["homicides"] == MARK for r in rows)
    assert all(r["homicides"] == MARK or r["homicides"] >= 10 or r["homicides"] == 0 for r in rows)
    assert main(["partner", "query", name, "--db", db, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.rstrip("\n").splitlines()
    assert lines[0] == "area,year_band,homicides" and len(lines) == len(rows) + 1
    assert main(["partner", "query", "homicides_by_area", "--db", db]) == 1
    assert "not marked safe for partners" in capsys.readouterr().err
    assert main(["partner", "query", name, "--db", db, "--threshold", "5"]) == 1
    assert "below this deployment's minimum" in capsys.readouterr().err
    assert main(["partner", "queries"]) == 0
    listed = capsys.readouterr().out
    assert all(n in listed for n in PARTNER) and "homicides_by_area " not in listed
