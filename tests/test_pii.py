"""Column names and values that look like personal data are recognised; place names are not."""

import pandas as pd
import pytest

from loaders.pii import personal_column, refuse_personal_values
from loaders.problems import Problems


@pytest.mark.parametrize("column", ["victim_name", "First Name", "surname", "DOB", "date_of_birth",
                                    "Street Address", "postcode", "phone_number", "Mobile", "email",
                                    "notes", "narrative", "latitude", "lng", "nhs_number"])
def test_personal_columns_are_recognised(column: str) -> None:
    assert personal_column(column)


@pytest.mark.parametrize("column", ["cnty_name", "msa_name", "borough_name", "case_id", "year", "sex",
                                    "age_group", "method", "factor", "coder", "area_code"])
def test_ordinary_columns_are_not(column: str) -> None:
    assert personal_column(column) is None


def test_values_that_look_like_contact_details_are_flagged() -> None:
    frame = pd.DataFrame({"note": ["ok", "call 07700 900123", "x@example.org", "SW1A 1AA", "fine"],
                          "_line": [2, 3, 4, 5, 6]})
    problems = Problems()
    refuse_personal_values("cases.csv", frame, ["note"], problems)
    assert sorted(p.row for p in problems.items) == [3, 4, 5]
    assert all(p.kind == "personal-data" for p in problems.items)
    messages = " ".join(str(p) for p in problems.items)
    for secret in ("07700 900123", "x@example.org", "SW1A 1AA"):
        assert secret not in messages and secret not in frame["note"].tolist()
