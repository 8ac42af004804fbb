"""What every service accepts from a person or a partner's system, whatever the field: numbers a
store and a sum can hold, text without control or direction-override characters, and no null where
a value is required. Each refusal is a 422 naming the field (ekspora_kit.http)."""

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, Field, field_validator

from ekspora_kit.domain import Model

# Far beyond any UMKM's order, and far inside int64 (9.2e18), so that sums of many stay inside too.
MAX_MONEY = 10**13  # rupiah, or minor units of EUR/AUD
MAX_COUNT = 10**9  # units, grams, days, reports
Money = Annotated[int, Field(le=MAX_MONEY)]
Count = Annotated[int, Field(le=MAX_COUNT)]

# Dates a person means: far from the ends of the calendar, where adding a day or a time zone overflows
EARLIEST, LATEST = date(2000, 1, 1), date(2199, 12, 31)
Day = Annotated[date, Field(ge=EARLIEST, le=LATEST)]


def _within_calendar(moment: datetime) -> datetime:
    if not EARLIEST <= moment.date() <= LATEST:
        raise ValueError(f"must fall between {EARLIEST} and {LATEST}")
    return moment


Moment = Annotated[AwareDatetime, AfterValidator(_within_calendar)]  # with its UTC offset, as RFC 3339 has it

# C0 and C1 controls (a line break or a tab only where text has lines), zero-width and bidi controls
_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
_IN_LINE = re.compile(f"[\t\n\r{_CONTROL}]")
_IN_PROSE = re.compile(f"[{_CONTROL}]")


def _line(value: str) -> str:
    if _IN_LINE.search(value):
        raise ValueError("control, line-break and direction-override characters are not allowed")
    return value


def _prose(value: str) -> str:
    if _IN_PROSE.search(value):
        raise ValueError("control and direction-override characters are not allowed")
    return value


Line = Annotated[str, AfterValidator(_line)]  # a name, a place, a number on a certificate
Prose = Annotated[str, AfterValidator(_prose)]  # a description, which may have lines


class Patch(Model):
    """A partial update: a field left out stays as it is, and null is refused, not stored."""

    @field_validator("*", mode="after")
    @classmethod
    def not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("leave the field out to keep it; null is not a value here")
        return value
