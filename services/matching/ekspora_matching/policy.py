"""Destination import rules, scoring settings and exchange rates, loaded from data/ and checked."""

from datetime import date
from pathlib import Path
from typing import Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ekspora_contracts.matching import Country, DocumentCode

DATA = Path(__file__).parent / "data"
Status = Literal["allowed", "allowed_with_documents", "not_allowed"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rule(Strict):
    status: Status
    documents: list[DocumentCode]
    note_en: str
    note_id: str
    source: str = Field(min_length=5)

    @model_validator(mode="after")
    def documents_match_status(self) -> Self:
        if (self.status == "allowed_with_documents") != bool(self.documents):
            raise ValueError("allowed_with_documents needs documents, and only it has them")
        return self


class CountryRules(Strict):
    name: str
    origin_document: DocumentCode
    origin_source: str
    rules: dict[str, Rule]


class Verdict(Strict):
    country: Country
    category: str
    status: Status
    documents: list[DocumentCode]
    reason_en: str
    reason_id: str
    source: str


class DestinationRules(Strict):
    always: list[DocumentCode]
    countries: dict[Country, CountryRules]

    def verdict(self, country: Country, category: str) -> Verdict:
        """What the destination says of a category; a category without a rule is not allowed."""
        destination = self.countries.get(country)
        rule = destination.rules.get(category) if destination else None
        if destination is None or rule is None:
            return Verdict(
                country=country,
                category=category,
                status="not_allowed",
                documents=[],
                reason_en=f"No import rule is known for {category} into {country} yet.",
                reason_id=f"Belum ada aturan impor untuk {category} ke {country}.",
                source="none",
            )
        documents = [] if rule.status == "not_allowed" else [*self.always, destination.origin_document, *rule.documents]
        return Verdict(
            country=country,
            category=category,
            status=rule.status,
            documents=documents,
            reason_en=rule.note_en,
            reason_id=rule.note_id,
            source=rule.source,
        )

    def allowed_countries(self, category: str) -> list[Country]:
        return [c for c in self.countries if self.verdict(c, category).status != "not_allowed"]


class Weights(Strict):
    category_fit: int
    capacity: int
    price: int
    certificates: int
    partner_history: int
    load_balance: int


class Scoring(Strict):
    weights: Weights
    min_score: float
    proposals_per_demand: int = Field(ge=1)
    max_open_per_partner: int = Field(ge=1)
    candidate_limit: int = Field(ge=1)
    price_tolerance: float = Field(gt=0)
    default_window_days: int = Field(ge=1)
    favoured_certificates: dict[str, list[str]]

    @model_validator(mode="after")
    def weights_add_up(self) -> Self:
        if (total := sum(self.weights.model_dump().values())) != 100:
            raise ValueError(f"weights add up to {total}, not 100")
        return self


class DatedRate(Strict):
    since: date
    source: str = Field(min_length=3)
    idr_per: dict[Literal["EUR", "AUD"], float]


class RateTable(Strict):
    """Rupiah per unit of a partner's currency, by the day it was set, with where it comes from."""

    rates: list[DatedRate] = Field(min_length=1)

    @model_validator(mode="after")
    def one_per_day(self) -> Self:
        days = [rate.since for rate in self.rates]
        if len(set(days)) != len(days):
            raise ValueError("two rates for one day")
        return self

    def on(self, day: date) -> DatedRate:
        """The newest rate set on or before `day`."""
        known = [rate for rate in self.rates if rate.since <= day]
        if not known:
            raise LookupError(f"no exchange rate was set on or before {day:%Y-%m-%d}")
        return max(known, key=lambda rate: rate.since)


def load_rules(path: Path = DATA / "destination_rules.yaml") -> DestinationRules:
    return DestinationRules.model_validate(yaml.safe_load(path.read_text()))


def load_scoring(path: Path = DATA / "scoring.yaml") -> Scoring:
    return Scoring.model_validate(yaml.safe_load(path.read_text()))


class RulesHolder:
    """The destination rules in force; reloadable from the data file without a restart."""

    def __init__(self) -> None:
        self.rules = load_rules()

    def get(self) -> DestinationRules:
        return self.rules

    def reload(self) -> DestinationRules:
        self.rules = load_rules()
        return self.rules


def load_exchange_rates(path: Path = DATA / "exchange_rates.yaml") -> RateTable:
    return RateTable.model_validate(yaml.safe_load(path.read_text()))
