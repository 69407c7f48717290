"""A small hand-made graph with known answers, for exact tests of the saved queries.

The cases below are plain Python data. ``build_fixture_graph`` writes them through the real bundle
and embedded backend; tests compute what each query must return from ``CASES`` in plain Python
(never by running Cypher), so a query that is wrong fails against an independent answer.

Three datasets, chosen to exercise every rule the queries depend on:

* ``fx-coded`` (explicit factor recording, synthetic): coded homicides with factors present,
  absent and not coded, common-scheme motives/methods/relationships, areas, victims and
  micropathways (ordered events with ``minutes_before`` and NEXT ``minutes``).
* ``fx-src`` (explicit, not synthetic): homicides coded in *source* schemes that reach the common
  scheme only through MAPS_TO (the Met's method and domestic-abuse flag, and two fixture-made
  source concepts), one of them placed in a region rather than a borough.
* ``fx-tags`` (presence-only, not synthetic): GVA-like Incidents of several kinds with factor tags;
  a missing tag means absent, so every record of the dataset is in the denominator of a factor
  the dataset can tag. One incident has two tags meaning the same common factor.
* ``fx-empty``: a dataset node with no records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from graph_model.backend import GraphBackend
from graph_model.bundle import GraphBundle
from graph_model.embedded import EmbeddedBackend
from graph_model.schema import get_schema
from graph_model.vocab import get_vocabulary
from loaders.base import add_vocabulary, dataset_frame, load

LONDON_CSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "london_mps_homicide_victims_2003_2024.csv"

MP = "micropathways:"


@dataclass(frozen=True)
class Victim:
    age_group: str | None
    sex: str
    age: int | None = None
    ethnicity: str | None = None


@dataclass(frozen=True)
class Case:
    uid: str
    dataset: str
    year: int
    label: str = "Homicide"  # or "Incident"
    month: int | None = None
    motive: str | None = None  # concept uid (any scheme)
    method: str | None = None
    relationship: str | None = None
    area: str | None = None
    factors: dict[str, bool] = field(default_factory=dict)  # factor uid -> present; missing = not coded
    victims: tuple[Victim, ...] = ()
    suspects: int = 0
    events: tuple[tuple[str, float | None], ...] = ()  # (event type code, minutes_before), in order
    kind: str | None = None  # Incident kind
    iccs: str | None = None
    offence_type: str | None = None
    solved: bool | None = None


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    synthetic: bool
    factor_recording: str
    coding_frame_version: int | None = None


DATASETS = (
    DatasetInfo("fx-coded", synthetic=True, factor_recording="explicit", coding_frame_version=2),
    DatasetInfo("fx-src", synthetic=False, factor_recording="explicit"),
    DatasetInfo("fx-tags", synthetic=False, factor_recording="presence_only"),
    DatasetInfo("fx-empty", synthetic=False, factor_recording="explicit"),  # loaded, no records yet
)

# Source concepts the fixture adds itself (scheme "fx"), each mapped to a common concept.
EXTRA_CONCEPTS = {
    ("Motive", "fx:brawl"): ("Brawl", MP + "quarrel_revenge_temper"),
    ("Relationship", "fx:acquaintance"): ("Acquaintance", MP + "friend_acquaintance"),
    ("Factor", "fx:bar_fight"): ("Bar fight", MP + "alcohol"),  # a tag that means alcohol, like GVA's
}

GREENWICH, LAMBETH, LONDON = "gss:E09000011", "gss:E09000022", "gss:E12000007"
ALCOHOL, DRUGS, GANG = MP + "alcohol", MP + "drugs", MP + "gang_involvement"
MENTAL, SOCIAL, DOMESTIC = MP + "mental_health", MP + "social_media", "mps:domestic_abuse"

CASES: tuple[Case, ...] = (
    Case("fx-coded:1", "fx-coded", 2019, month=3, motive=MP + "quarrel_revenge_temper",
         method=MP + "sharp_instrument", relationship=MP + "friend_acquaintance", area=GREENWICH,
         factors={ALCOHOL: True, DRUGS: True, GANG: False, MENTAL: True},
         victims=(Victim("18 to 24", "Male", 20, "White"), Victim("25 to 34", "Female", 30)), suspects=1,
         events=(("prior_dispute", 1500.0), ("verbal_argument", 10.0), ("physical_altercation", 4.0),
                 ("fatal_incident", 0.0)),
         offence_type="Murder", solved=True, iccs="0101"),
    Case("fx-coded:2", "fx-coded", 2020, month=7, motive=MP + "quarrel_revenge_temper",
         method=MP + "sharp_instrument", relationship=MP + "stranger", area=LAMBETH,
         factors={ALCOHOL: True, DRUGS: False, GANG: True, MENTAL: False, SOCIAL: True},
         victims=(Victim("16 to 17", "Male", 17),), suspects=2,
         events=(("substance_use", 120.0), ("verbal_argument", 60.0), ("substance_use", 40.0),
                 ("verbal_argument", 5.0), ("fatal_incident", 0.0)),
         offence_type="Murder", solved=False, iccs="0101"),
    Case("fx-coded:3", "fx-coded", 2020, month=11, motive=MP + "theft_gain", method=MP + "shooting",
         relationship=MP + "stranger", area=LAMBETH,
         factors={ALCOHOL: False, DRUGS: True, GANG: True},
         victims=(Victim("25 to 34", "Male"),),
         events=(("planned_meeting", 45.0), ("robbery_attempt", 3.0), ("fatal_incident", 0.0)),
         offence_type="Murder", iccs="0101"),
    Case("fx-coded:4", "fx-coded", 2021, month=1, motive=MP + "theft_gain", method=MP + "blunt_instrument",
         relationship=MP + "partner_ex_partner", area=GREENWICH,
         factors={ALCOHOL: True, DRUGS: True, MENTAL: True, GANG: False, SOCIAL: False},
         victims=(Victim("35 to 44", "Female"),), suspects=1,
         events=(("verbal_argument", None), ("threat", 30.0), ("fatal_incident", 0.0)),
         offence_type="Manslaughter", solved=True, iccs="0101"),
    Case("fx-coded:5", "fx-coded", 2022, motive=MP + "not_known", method=MP + "not_known",
         victims=(Victim(None, "Unknown"),), offence_type="Murder", iccs="0101"),
    Case("fx-coded:6", "fx-coded", 2021, month=6, motive=MP + "quarrel_revenge_temper",
         method=MP + "hitting_kicking", relationship=MP + "friend_acquaintance", area=LAMBETH,
         factors={ALCOHOL: True, SOCIAL: True, MENTAL: False},
         victims=(Victim("45 to 54", "Male"),), suspects=1,
         events=(("verbal_argument", 15.0), ("physical_altercation", 7.0), ("fatal_incident", 0.0)),
         offence_type="Murder", solved=True, iccs="0101"),
    Case("fx-src:1", "fx-src", 2020, month=5, motive="fx:brawl", method="mps:knife_or_sharp_implement",
         relationship="fx:acquaintance", area=GREENWICH,
         factors={DOMESTIC: True, ALCOHOL: True},
         victims=(Victim("25 to 34", "Female"),), suspects=1,
         events=(("chance_encounter", 20.0), ("physical_altercation", 5.0), ("fatal_incident", 0.0)),
         offence_type="Murder", solved=True, iccs="0101"),
    Case("fx-src:2", "fx-src", 2021, motive="fx:brawl", method="mps:shooting", area=LONDON,
         factors={DOMESTIC: False},
         victims=(Victim("18 to 24", "Male"),),
         events=(("planned_meeting", 10.0), ("fatal_incident", 0.0)),
         offence_type="Manslaughter", iccs="0101"),
    Case("fx-tags:1", "fx-tags", 2015, label="Incident", method=MP + "shooting", kind="homicide", iccs="0101",
         factors={GANG: True, ALCOHOL: True, "fx:bar_fight": True}, victims=(Victim("Adult 18+", "Male", 24),)),
    Case("fx-tags:2", "fx-tags", 2015, label="Incident", method=MP + "shooting", kind="suicide",
         victims=(Victim("Adult 18+", "Male"),)),
    Case("fx-tags:3", "fx-tags", 2014, label="Incident", method=MP + "shooting", kind="accidental", iccs="0103",
         victims=(Victim("Child 0-11", "Female"),)),
    Case("fx-tags:4", "fx-tags", 2014, label="Incident", method=MP + "shooting", kind="homicide", iccs="0101",
         factors={GANG: True}, victims=(Victim("Teen 12-17", "Male"),)),
)

CONFLICT_CODES = frozenset(
    c.code for c in get_vocabulary().scheme_concepts("EventType", "micropathways") if c.get("conflict_event"))


def common(label_class: str, uid: str | None) -> str | None:
    """The common-scheme concept ``uid`` stands for (itself when it is already common)."""
    if uid is None or uid.startswith(MP):
        return uid
    if (label_class, uid) in EXTRA_CONCEPTS:
        return EXTRA_CONCEPTS[(label_class, uid)][1]
    targets = get_vocabulary().common_for(label_class, uid)
    assert len(targets) == 1, (label_class, uid, targets)
    return targets[0]


def concept_label(label_class: str, uid: str) -> str:
    vocab = get_vocabulary()
    if (label_class, uid) in EXTRA_CONCEPTS:
        return EXTRA_CONCEPTS[(label_class, uid)][0]
    return vocab.concepts[(label_class, uid)].label


def dataset(name: str) -> DatasetInfo:
    return next(d for d in DATASETS if d.name == name)


def build_bundle() -> GraphBundle:
    """Every fixture dataset in one bundle (the vocabulary included), conformed to the schema."""
    bundle = GraphBundle("fixture")
    add_vocabulary(bundle, get_vocabulary())
    for (label, uid), (text, target) in EXTRA_CONCEPTS.items():
        scheme, code = uid.split(":", 1)
        bundle.add_nodes(label, pd.DataFrame([{"uid": uid, "scheme": scheme, "code": code, "label": text}]))
        bundle.add_rels("MAPS_TO", label, label, pd.DataFrame([{"from": uid, "to": target}]))
    for info in DATASETS:
        bundle.add_nodes("Dataset", dataset_frame(
            info.name, source="hand-made test fixture", licence="none", synthetic=info.synthetic,
            factor_recording=info.factor_recording, coding_frame_version=info.coding_frame_version))
    for label in ("Homicide", "Incident"):
        cases = [c for c in CASES if c.label == label]
        rows = [{"uid": c.uid, "case_id": c.uid.split(":", 1)[1], "dataset": c.dataset, "year": c.year,
                 "month": c.month, "synthetic": dataset(c.dataset).synthetic, "offence_type": c.offence_type,
                 "iccs": c.iccs, "solved": c.solved, "victim_count": len(c.victims),
                 **({"kind": c.kind} if label == "Incident" else {})} for c in cases]
        bundle.add_nodes(label, pd.DataFrame(rows))
        _rels(bundle, "FROM_DATASET", label, "Dataset", [(c.uid, c.dataset) for c in cases])
        for rel, target, attr in (("HAS_MOTIVE", "Motive", "motive"), ("BY_METHOD", "Method", "method"),
                                  ("HAS_RELATIONSHIP", "Relationship", "relationship"),
                                  ("IN_AREA", "Area", "area")):
            _rels(bundle, rel, label, target, [(c.uid, getattr(c, attr)) for c in cases if getattr(c, attr)])
        bundle.add_rels("HAS_FACTOR", label, "Factor", pd.DataFrame(
            [{"from": c.uid, "to": f, "present": p} for c in cases for f, p in c.factors.items()],
            columns=["from", "to", "present"]))
        victims = [{"uid": f"{c.uid}/v{i}", "record_uid": c.uid, "position": i, "age_group": v.age_group,
                    "sex": v.sex, "age": v.age, "ethnicity": v.ethnicity}
                   for c in cases for i, v in enumerate(c.victims, 1)]
        bundle.add_nodes("Victim", pd.DataFrame(victims))
        _rels(bundle, "HAS_VICTIM", label, "Victim", [(v["record_uid"], v["uid"]) for v in victims])
        suspects = [{"uid": f"{c.uid}/s{i}", "record_uid": c.uid, "position": i, "sex": "Male"}
                    for c in cases for i in range(1, c.suspects + 1)]
        if suspects:
            bundle.add_nodes("Suspect", pd.DataFrame(suspects))
            _rels(bundle, "HAS_SUSPECT", label, "Suspect", [(s["record_uid"], s["uid"]) for s in suspects])
    events, first, nexts, types = [], [], [], []
    for c in CASES:
        for i, (code, minutes) in enumerate(c.events, 1):
            uid = f"{c.uid}/e{i}"
            events.append({"uid": uid, "record_uid": c.uid, "position": i, "minutes_before": minutes})
            types.append((uid, MP + code))
            if i == 1:
                first.append((c.uid, uid))
            else:
                before = c.events[i - 2][1]
                gap = None if before is None or minutes is None else before - minutes
                nexts.append({"from": f"{c.uid}/e{i - 1}", "to": uid, "minutes": gap})
    bundle.add_nodes("Event", pd.DataFrame(events))
    _rels(bundle, "FIRST_EVENT", "Homicide", "Event", first)
    bundle.add_rels("NEXT", "Event", "Event", pd.DataFrame(nexts))
    _rels(bundle, "OF_TYPE", "Event", "EventType", types)
    return bundle.conform(get_schema())


def _rels(bundle: GraphBundle, rel_type: str, src: str, dst: str, pairs: list[tuple[Any, Any]]) -> None:
    bundle.add_rels(rel_type, src, dst, pd.DataFrame(pairs, columns=["from", "to"]))


def write_fixture(backend: GraphBackend) -> None:
    """Write the fixture graph into ``backend`` (empty, or already holding exactly this fixture)."""
    backend.write_bundle(build_bundle())


def build_fixture_graph(path: Path) -> Path:
    """Write the fixture graph to a new embedded database at ``path``; returns ``path``."""
    with EmbeddedBackend(path, read_only=False) as backend:
        write_fixture(backend)
    return path


def load_london(backend: GraphBackend) -> None:
    load("london-mps", LONDON_CSV, backend)


CONTENTS = {"fixture": write_fixture, "london": load_london}


class Graphs:
    """Read backends holding a named content ("fixture" or "london") on one engine, for a test module.

    Embedded: one database file per content, written once, then opened read-only (as the CLI and the
    dashboard open it). Neo4j: the one server holds one content at a time; asking for another empties
    it and loads that one (tests are grouped by engine, so this happens rarely).
    """

    def __init__(self, engine: str, folder: Path, neo4j_uri: Callable[[], str]) -> None:
        self.engine, self.folder, self._neo4j_uri = engine, folder, neo4j_uri
        self.open: dict[str, GraphBackend] = {}
        self.neo4j: GraphBackend | None = None
        self.neo4j_holds = ""

    def path(self, content: str) -> Path:
        return self.folder / f"{content}.lbdb"

    def get(self, content: str) -> GraphBackend:
        if self.engine == "embedded":
            if content not in self.open:
                with EmbeddedBackend(self.path(content), read_only=False) as writer:
                    CONTENTS[content](writer)
                self.open[content] = EmbeddedBackend(self.path(content))
            return self.open[content]
        if self.neo4j is None:
            from graph_model.neo4j_backend import Neo4jBackend

            self.neo4j = Neo4jBackend(self._neo4j_uri())
        if self.neo4j_holds != content:
            self.neo4j.delete_all()  # type: ignore[attr-defined]
            self.neo4j_holds = ""
            CONTENTS[content](self.neo4j)
            self.neo4j_holds = content
        return self.neo4j

    def close(self) -> None:
        for backend in [*self.open.values(), *([self.neo4j] if self.neo4j else [])]:
            backend.close()
