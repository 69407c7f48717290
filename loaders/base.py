"""What every loader shares: the Source interface, the registry and the load pipeline.

A load is: read and validate the source (collecting every problem) → map it to a GraphBundle →
conform the bundle to the ontology's schema → write it in one transaction. Any problem stops the
load before anything is written.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pandas as pd

from graph_model.backend import GraphBackend, LoadReport, Progress
from graph_model.bundle import GraphBundle
from graph_model.schema import get_schema
from graph_model.vocab import Vocabulary, get_vocabulary


@dataclass
class SourceResult:
    """What a source produced: the bundle and what it left out (and why)."""

    bundle: GraphBundle
    stripped: dict[str, str] = field(default_factory=dict)  # column -> reason it was not loaded
    notes: list[str] = field(default_factory=list)


class Source(ABC):
    """A kind of input the platform can load (`micropath load NAME PATH`)."""

    name: ClassVar[str]
    description: ClassVar[str]

    @abstractmethod
    def read(self, path: Path, vocab: Vocabulary) -> SourceResult:
        """Validate ``path`` (raise ValidationFailed with every problem) and map it to a bundle."""


SOURCES: dict[str, type[Source]] = {}


def register(cls: type[Source]) -> type[Source]:
    SOURCES[cls.name] = cls
    return cls


def get_source(name: str) -> Source:
    import loaders.sources  # noqa: F401  - registers the built-in sources

    try:
        return SOURCES[name]()
    except KeyError:
        raise ValueError(f"unknown source {name!r}; choose one of {sorted(SOURCES)}") from None


def prepare(source_name: str, path: Path) -> SourceResult:
    """Read, validate and map a source, conforming the bundle to the schema. Writes nothing."""
    vocab = get_vocabulary()
    result = get_source(source_name).read(Path(path), vocab)
    add_vocabulary(result.bundle, vocab)
    result.bundle = result.bundle.conform(get_schema())
    return result


def load(source_name: str, path: Path, backend: GraphBackend,
         progress: Progress | None = None) -> tuple[SourceResult, LoadReport]:
    result = prepare(source_name, path)
    report = backend.write_bundle(result.bundle, progress)
    return result, report


# ---- helpers loaders share ----------------------------------------------------------------
def add_vocabulary(bundle: GraphBundle, vocab: Vocabulary) -> None:
    """Every ontology concept and MAPS_TO mapping travels with every load (merged, never duplicated)."""
    for label, frame in vocab.node_frames().items():
        bundle.add_nodes(label, frame)
    for (src, dst), frame in vocab.mapping_frames().items():
        bundle.add_rels("MAPS_TO", src, dst, frame)


def dataset_frame(name: str, *, source: str, licence: str, synthetic: bool,
                  factor_recording: str, coding_frame_version: int | None = None,
                  description: str | None = None) -> pd.DataFrame:
    return pd.DataFrame([{
        "uid": name, "name": name, "source": source, "licence": licence, "synthetic": synthetic,
        "description": description,
        "factor_recording": factor_recording, "coding_frame_version": coding_frame_version,
    }])


def link(bundle: GraphBundle, rel_type: str, src: str, dst: str, from_uids: pd.Series,
         to_uids: pd.Series, **props: pd.Series | object) -> None:
    """Add relationships from aligned uid series, dropping rows where either end is missing."""
    frame = pd.DataFrame({"from": from_uids.to_numpy(), "to": to_uids.to_numpy()})
    for name, value in props.items():
        frame[name] = value.to_numpy() if isinstance(value, pd.Series) else value
    frame = frame[frame["from"].notna() & frame["to"].notna()]
    bundle.add_rels(rel_type, src, dst, frame.reset_index(drop=True))
