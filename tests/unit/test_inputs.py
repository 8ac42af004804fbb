"""What every service accepts as input (ekspora_kit.inputs), in a table: each case is a field and a
value, refused with a message naming why, or kept."""

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from ekspora_kit.domain import Model
from ekspora_kit.inputs import MAX_COUNT, MAX_MONEY, Count, Day, Line, Moment, Money, Patch, Prose


class Form(Model):
    name: Line = "Tahu Takwa"
    description: Prose = "Tahu kuning"
    price: Money = 1
    units: Count = 1
    day: Day = date(2026, 12, 2)
    at: Moment = datetime(2026, 12, 2, tzinfo=UTC)


class Change(Patch):
    name: Line | None = None
    price: Money | None = None


@pytest.mark.parametrize(
    ("field", "value", "refusal"),
    [
        ("name", "Tahu\x00Takwa", "control"),
        ("name", "Tahu \u202eawkaT", "direction-override"),
        ("name", "Tahu\nTakwa", "line-break"),
        ("name", "Tahu\u200bTakwa", "control"),
        ("description", "Baris satu\u2066dua", "direction-override"),
        ("description", "\x1b[31mmerah", "control"),
        ("price", MAX_MONEY + 1, "less than or equal"),
        ("price", 2**63, "less than or equal"),
        ("units", MAX_COUNT + 1, "less than or equal"),
        ("day", "9999-12-31", "less than or equal"),
        ("day", "0001-01-01", "greater than or equal"),
        ("at", "9999-12-31T23:59:59+00:00", "must fall between"),
        ("at", "2026-12-02T10:00:00", "timezone"),
    ],
)
def test_refused(field, value, refusal):
    with pytest.raises(ValidationError, match=refusal) as raised:
        Form.model_validate({field: value})
    assert raised.value.errors()[0]["loc"] == (field,), "the refusal names the field"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Kopi Robusta Kelud, 250 g"),
        ("name", "Batik Tulis «Kediri» & Ñ"),
        ("description", "Baris satu\nbaris dua\tdengan tab"),
        ("price", MAX_MONEY),
        ("units", 0),
        ("day", "2199-12-31"),
        ("at", "2026-12-02T10:00:00+07:00"),
    ],
)
def test_kept(field, value):
    assert getattr(Form.model_validate({field: value}), field) is not None


def test_a_patch_keeps_what_is_left_out_and_refuses_null():
    assert Change.model_validate({"price": 5}).model_dump(exclude_unset=True) == {"price": 5}
    with pytest.raises(ValidationError, match="null is not a value here") as raised:
        Change.model_validate({"name": None})
    assert raised.value.errors()[0]["loc"] == ("name",)
