"""Deterministic linkage: two records link when they agree exactly on every key field.

Keys are linkage fields (linkage/fields.py): a pseudonymous reference both datasets hold
(``pseudonymous_ref``), a place and a month (``area_borough,year,month``), an ICCS category
(``iccs``), ... A record with a missing key links to nothing. Every pair that agrees is a link
(a key shared by several records on each side gives every pair), with match probability 1.
"""

from __future__ import annotations

import pandas as pd

from linkage.fields import comparable


def deterministic_links(left: pd.DataFrame, right: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Pairs agreeing on every key: columns left_uid, right_uid, agreed_fields, sorted by uids."""
    a = comparable(left, keys).dropna(subset=keys)
    b = comparable(right, keys).dropna(subset=keys)
    pairs = a.merge(b, on=keys, suffixes=("_left", "_right"))
    out = pd.DataFrame({"left_uid": pairs["uid_left"].astype(str), "right_uid": pairs["uid_right"].astype(str),
                        "agreed_fields": "|".join(keys)})
    return out.sort_values(["left_uid", "right_uid"], ignore_index=True)
