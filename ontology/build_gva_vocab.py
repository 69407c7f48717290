"""Generate ontology/vocab/gva.ttl from a Gun Violence Archive incidents file.

    .venv/bin/python ontology/build_gva_vocab.py ../shared/data/gva_fatal_incidents_2014_2015.csv
    .venv/bin/python ontology/build_gva_vocab.py FILE --out /tmp/gva.ttl   # write elsewhere

What it writes (scheme code "gva", labels VERBATIM from the file):

- one ``mp:Factor`` concept per distinct ``incident_characteristics`` tag, with ``mp:factorKind``
  (the legend group, from the hand-written KIND_RULES below) and ``skos:closeMatch`` to the
  platform's common factor where one fits (CLOSE_MATCH below; most tags have none);
- one ``mp:Relationship`` concept per distinct ``participant_relationship`` value, with
  ``skos:closeMatch`` to the Homicide Index relationship where one fits;
- one ``mp:Method`` concept "Shooting" (closeMatch the common method "shooting").

Tag lists are ``||``-separated, but some rows use a single ``|`` (a real-data quirk, e.g.
``Shot - Wounded/Injured|Shot - Dead (murder, accidental, suicide)``), so tags are split on both;
no tag contains a ``|`` of its own. Per-person values are ``index::value`` pairs, again sometimes
``index:value`` joined by ``|``.

A concept's notation is a slug of its label (lower case, every run of other characters → ``_``),
so it is stable as long as GVA keeps the wording; two labels with the same slug are an error.
The output depends only on the file's contents (sorted, no timestamps): re-running on the same
file reproduces gva.ttl byte for byte, and a test checks that.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import re
import sys
from pathlib import Path

OUT_DEFAULT = Path(__file__).resolve().parent / "vocab" / "gva.ttl"
LIST_SPLIT = re.compile(r"\|\|?")  # "||" and the single "|" some rows use
PAIR = re.compile(r"^(\d+)::?(.+)$")  # "0::Victim" or "0:Victim"

# ---- hand-written mapping tables --------------------------------------------------------------
# Common factor (ontology/vocab/micropathways.ttl) a tag closely matches. Only clear matches:
# a tag left out has no common counterpart and stays queryable in the gva scheme.
CLOSE_MATCH = {
    "Domestic Violence": "domestic_abuse",
    "Gang involvement": "gang_involvement",
    "Drug involvement": "drugs",
    "Bar/club incident - in or around establishment": "night_time_economy",
    "Armed robbery with injury/death and/or evidence of DGU found": "robbery",
    "Car-jacking": "robbery",
    "Gun shop robbery or burglary": "robbery",
}
# Why some tags that look mappable are not (written into gva.ttl as skos:editorialNote).
NOT_MAPPED = {
    "Under the influence of alcohol or drugs (only applies to the subject/suspect/perpetrator )":
        "Not mapped: the tag does not say whether alcohol or drugs, and mapping it to both common "
        "factors would count one observation twice.",
    "Home Invasion":
        "Not mapped to robbery: a home invasion is not always a robbery (GVA also uses it for "
        "domestic disputes with forced entry).",
}
# mp:factorKind (legend group) of each tag: first rule whose pattern matches the whole label.
KIND_RULES: list[tuple[str, str]] = [
    (r"Domestic Violence", "domestic"),
    (r"Gang involvement", "group"),
    (r"Drug involvement|Under the influence of alcohol or drugs.*", "substance"),
    (r"Suicide\^|Suicide - Attempt|Murder/Suicide|Attempted Murder/Suicide.*", "self_harm"),
    (r"Officer Involved .*|Police Targeted|ATF/LE Confiscation/Raid/Arrest|TSA Action", "police"),
    (r"Defensive Use.*", "defensive"),
    (r"Accidental.*|Hunting accident|Cleaning gun|Thought gun was unloaded|Playing with gun|"
     r"Child picked up & fired gun|Child killed by child|Child killed self|Self-Inflicted .*|"
     r"Mistaken ID .*", "accident"),
    (r"Shot - .*|Shots [Ff]ired.*|Animal shot/killed|Non-Shooting Incident|Mass Shooting .*|"
     r"Mass Murder .*|Spree Shooting .*|Child killed \(not child shooter\)|"
     r"Child injured \(not child shooter\)|ShotSpotter|Implied Weapon|Non-Aggression Incident|"
     r"LOCKDOWN/ALERT ONLY.*", "outcome"),
    (r"Possession.*|Stolen/Illegally owned gun.*|Gun\(s\) stolen from owner|Guns stolen from .*|"
     r"Criminal act with stolen gun|"
     r"Assault weapon .*|BB/Pellet/Replica gun|Ghost gun|Concealed Carry License - .*|"
     r"Brandishing/flourishing/open carry/lost/found|Unlawful purchase/sale|Pistol-whipping|"
     r"Gun shop robbery or burglary|Gun at school.*", "weapon"),
    (r"Bar/club incident.*|House party|Road rage|Drive-by .*|Home Invasion.*|Armed robbery.*|"
     r"Car-jacking|Kidnapping/abductions/hostage|Sex crime involving firearm|Hate crime|"
     r"Terrorism Involvement|Workplace shooting .*|School .*|Gun range/gun shop/gun show shooting|"
     r"Institution/Group/Business|Shootout .*|Child Involved Incident", "situational"),
]
DEFAULT_KIND = "other"  # a tag no rule covers (the generator lists them on stderr)

# Homicide Index relationship (common scheme) a GVA participant_relationship value matches.
RELATIONSHIP_MATCH = {
    "Significant others - current or former": "partner_ex_partner",
    "Friends": "friend_acquaintance",
    "Aquaintance": "friend_acquaintance",
    "Neighbor": "other_known",
    "Co-worker": "other_known",
    "Home Invasion - Perp Does Not Know Victim": "stranger",
    "Drive by - Random victims": "stranger",
}
RELATIONSHIP_NOT_MAPPED = {
    "Family": "Not mapped: GVA's Family spans son/daughter, parent and other family, which the "
              "Homicide Index keeps apart.",
    "Armed Robbery": "Not mapped: a circumstance, not a relationship (the parties are usually, "
                     "but not by definition, strangers).",
    "Gang vs Gang": "Not mapped: says the parties were rival gang members, not how well they knew "
                    "each other.",
    "Home Invasion - Perp Knows Victim": "Not mapped: 'knows' may be family, partner, friend or "
                                         "other known.",
    "Mass shooting - Perp Knows Victims": "Not mapped: 'knows' may be family, partner, friend or "
                                          "other known.",
}

HEADER = """\
# GENERATED by ontology/build_gva_vocab.py from {name} — do not edit by hand.
# Source file sha256: {sha}
# Gun Violence Archive (credit: Gun Violence Archive), via jamesqo/gun-violence-data @ 17dc307.
# Labels are the source's wording verbatim; skos:closeMatch links a concept to the platform's
# common concept where one fits. Tags are split on "||" and on a single "|" (some rows use one).
@prefix mp:   <https://w3id.org/micropathways/ontology#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix c:    <https://w3id.org/micropathways/vocab/micropathways/> .
@prefix gv:   <https://w3id.org/micropathways/vocab/gva/> .

"""


def slug(label: str) -> str:
    """The stable notation of a label: lower case, runs of other characters → '_'."""
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def split_list(cell: str) -> list[str]:
    return [part.strip() for part in LIST_SPLIT.split(cell) if part.strip()]


def factor_kind(tag: str) -> str:
    for pattern, kind in KIND_RULES:
        if re.fullmatch(pattern, tag):
            return kind
    return DEFAULT_KIND


def literal(text: str) -> str:
    """A Turtle string literal."""
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\r", "\\r").replace("\t", "\\t"))
    return f'"{escaped}"'


def read_values(path: Path) -> tuple[set[str], set[str]]:
    """Distinct tags and distinct participant relationship values of the file."""
    tags: set[str] = set()
    relationships: set[str] = set()
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            tags.update(split_list(row["incident_characteristics"] or ""))
            for pair in split_list(row["participant_relationship"] or ""):
                match = PAIR.match(pair)
                if match:  # malformed pairs are the loader's to report
                    relationships.add(match.group(2).strip())
    return tags, relationships


def _slugs(labels: set[str], what: str) -> list[tuple[str, str]]:
    by_slug: dict[str, str] = {}
    for label in labels:
        code = slug(label)
        if not code:
            raise ValueError(f"{what} {label!r} has no letters or digits to make a notation from")
        if code in by_slug:
            raise ValueError(f"{what}s {by_slug[code]!r} and {label!r} have the same notation {code!r}")
        by_slug[code] = label
    return sorted(by_slug.items())


def render(name: str, sha: str, tags: set[str], relationships: set[str]) -> str:
    out = [HEADER.format(name=name, sha=sha)]
    out.append('gv:factor a skos:ConceptScheme ; skos:prefLabel "GVA incident characteristics"@en ; '
               'mp:schemeCode "gva" ; mp:conceptClass mp:Factor .\n')
    for code, label in _slugs(tags, "tag"):
        line = (f"gv:factor-{code} a skos:Concept ; skos:inScheme gv:factor ; skos:notation "
                f"{literal(code)} ; skos:prefLabel {literal(label)} ; mp:factorKind "
                f"{literal(factor_kind(label))}")
        if label in CLOSE_MATCH:
            line += f" ; skos:closeMatch c:factor-{CLOSE_MATCH[label]}"
        if label in NOT_MAPPED:
            line += f" ;\n    skos:editorialNote {literal(NOT_MAPPED[label])}@en"
        out.append(line + " .\n")
    out.append('\ngv:relationship a skos:ConceptScheme ; skos:prefLabel "GVA participant relationship"@en ; '
               'mp:schemeCode "gva" ; mp:conceptClass mp:Relationship .\n')
    for code, label in _slugs(relationships, "relationship"):
        line = (f"gv:relationship-{code} a skos:Concept ; skos:inScheme gv:relationship ; "
                f"skos:notation {literal(code)} ; skos:prefLabel {literal(label)}")
        if label in RELATIONSHIP_MATCH:
            line += f" ; skos:closeMatch c:relationship-{RELATIONSHIP_MATCH[label]}"
        if label in RELATIONSHIP_NOT_MAPPED:
            line += f" ;\n    skos:editorialNote {literal(RELATIONSHIP_NOT_MAPPED[label])}@en"
        out.append(line + " .\n")
    out.append('\ngv:method a skos:ConceptScheme ; skos:prefLabel "GVA method"@en ; mp:schemeCode "gva" ; '
               "mp:conceptClass mp:Method .\n")
    out.append('gv:method-shooting a skos:Concept ; skos:inScheme gv:method ; skos:notation "shooting" ; '
               'skos:prefLabel "Shooting" ; skos:closeMatch c:method-shooting ;\n'
               '    skos:definition "Every GVA incident is a gun-violence incident."@en .\n')
    return "".join(out)


def build(path: Path, out: Path) -> str:
    tags, relationships = read_values(path)
    unknown = ([t for t in CLOSE_MATCH if t not in tags]
               + [r for r in RELATIONSHIP_MATCH if r not in relationships])
    if unknown:
        print(f"note: mapped labels not in this file (kept out of gva.ttl): {unknown}", file=sys.stderr)
    defaulted = sorted(t for t in tags if factor_kind(t) == DEFAULT_KIND)
    if defaulted:
        print(f"warning: no KIND_RULES entry for {defaulted}; factorKind {DEFAULT_KIND!r}", file=sys.stderr)
    text = render(path.name, hashlib.sha256(path.read_bytes()).hexdigest(), tags, relationships)
    _check_parses(text)
    out.write_bytes(text.encode("utf-8"))
    return text


def _check_parses(text: str) -> None:
    from rdflib import Graph

    Graph().parse(data=text, format="turtle")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("data", type=Path, help="the GVA incidents CSV")
    parser.add_argument("--out", type=Path, default=OUT_DEFAULT, help=f"output (default {OUT_DEFAULT})")
    args = parser.parse_args(argv)
    text = build(args.data, args.out)
    print(f"wrote {args.out}: {text.count('a skos:Concept ;')} concepts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
