"""The console's words, per language, from data (data/texts.yaml), and numbers, money and dates as
the reader's locale writes them (Babel): Rp28.800.000 for id, € 1.648,00 for nl."""

from datetime import date, datetime
from decimal import Decimal
from functools import cache
from importlib.resources import files
from typing import Literal
from zoneinfo import ZoneInfo

import yaml
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal

Language = Literal["id", "en", "nl"]
LANGUAGES: tuple[Language, ...] = ("id", "en", "nl")
BABEL_LOCALE = {"id": "id_ID", "en": "en_GB", "nl": "nl_NL"}
MINOR_UNITS = {"IDR": 1, "EUR": 100, "AUD": 100}  # the services count EUR and AUD in cents, rupiah whole
WIB = ZoneInfo("Asia/Jakarta")


@cache
def catalogue() -> dict[str, dict[str, str]]:
    loaded = yaml.safe_load(files("ekspora_console").joinpath("data/texts.yaml").read_text(encoding="utf-8"))
    return {key: dict(by_language) for key, by_language in loaded.items()}


class Texts:
    """What one reader sees: their language's words, their locale's numbers."""

    def __init__(self, language: Language) -> None:
        self.language = language
        self.locale = BABEL_LOCALE[language]

    def __call__(self, key: str, **values: object) -> str:
        text = catalogue()[key][self.language]
        return text.format(**values) if values else text

    def document(self, code: str) -> str:
        """An export document's name (`code@order` for one order's: the name and the order); a code
        the console has no name for yet is shown as it is."""
        kind, _, order = code.partition("@")
        names = catalogue().get(f"document_{kind}")
        name = names[self.language] if names else kind
        return f"{name} · {order}" if order else name

    def money(self, minor_units: int, currency: str) -> str:
        amount = Decimal(minor_units) / MINOR_UNITS.get(currency, 100)
        if currency == "IDR":  # rupiah are written without decimals
            return format_currency(amount, "IDR", format="¤#,##0", locale=self.locale, currency_digits=False)
        return format_currency(amount, currency, locale=self.locale)

    def number(self, value: float) -> str:
        return format_decimal(value, locale=self.locale)

    def day(self, value: date | datetime | str | None) -> str:
        """A day as the reader writes it; a moment is the day it is in Kediri (WIB). JSON's ISO text too."""
        if value is None:
            return "–"
        if isinstance(value, str):
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        if isinstance(value, datetime):
            value = value.astimezone(WIB).date()
        return format_date(value, format="medium", locale=self.locale)

    def moment(self, value: datetime | str | None) -> str:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return "–" if value is None else format_datetime(value, format="medium", tzinfo=WIB, locale=self.locale)


def language_of(asked: str | None, fallback: Language) -> Language:
    return asked if asked in LANGUAGES else fallback  # type: ignore[return-value]
