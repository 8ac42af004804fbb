"""Lanes, rates and the tracking state machine, loaded from data/ and checked."""

from pathlib import Path
from typing import Literal, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

DATA = Path(__file__).parent / "data"
Mode = Literal["sea_lcl", "air"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Destination(Strict):
    country: Literal["NL", "AU"]
    port: str
    airport: str


class ModeRules(Strict):
    departure_weekday: int = Field(ge=0, le=6)
    cutoff_days_before: int = Field(ge=0)
    transit_days: dict[str, int]
    max_kg: float = Field(gt=0)
    max_cbm: float = Field(gt=0)
    rate_idr_per_chargeable_unit: dict[str, int]
    minimum_idr: int = Field(ge=0)


class Packing(Strict):
    gross_factor: float = Field(ge=1)
    kg_per_cbm: dict[str, float]
    default_kg_per_cbm: float = Field(gt=0)


class Insurance(Strict):
    rate: float = Field(ge=0, lt=0.1)
    insured_share: float = Field(ge=1)


class Lanes(Strict):
    revision: int = Field(ge=1)
    origin: dict[str, str]
    air_when_shelf_life_below_days: int
    packing: Packing
    insurance: Insurance
    delivery_idr_per_gross_kg: dict[Literal["NL", "AU"], int]
    destinations: dict[str, Destination]
    modes: dict[Mode, ModeRules]
    reminder_days_before_cutoff: int = Field(ge=0)
    shipment_documents: list[str]


class ExceptionRule(Strict):
    from_: list[str] = Field(alias="from")
    back_to: list[str]


class Tracking(Strict):
    journey: list[str]
    exceptions: dict[str, ExceptionRule]
    carrier_aliases: dict[str, str]

    @property
    def states(self) -> list[str]:
        """Every state a shipment can be in: the journey's, then the exceptions'."""
        return [*self.journey, *self.exceptions]

    @model_validator(mode="after")
    def known_states(self) -> Self:
        states = set(self.states)
        for name, rule in self.exceptions.items():
            if unknown := (set(rule.from_) | set(rule.back_to)) - states:
                raise ValueError(f"{name} names unknown states {sorted(unknown)}")
        if unknown := set(self.carrier_aliases.values()) - states:
            raise ValueError(f"carrier aliases name unknown states {sorted(unknown)}")
        return self

    def allowed(self, current: str, target: str) -> bool:
        if target in self.exceptions:
            return current in self.exceptions[target].from_
        if current in self.exceptions:
            return target in self.exceptions[current].back_to
        return target in self.journey and self.journey.index(target) > self.journey.index(current)

    def crosses_departure(self, reached: list[str], target: str) -> bool:
        """True for a move to `departed` or beyond by a shipment whose history never reached departed."""
        departed = self.journey.index("departed")
        furthest = max((self.journey.index(s) for s in reached if s in self.journey), default=0)
        return target in self.journey and self.journey.index(target) >= departed > furthest

    def is_behind(self, current: str, target: str) -> bool:
        """True when a journey update would move the shipment backwards (a late or out-of-order update)."""
        if target not in self.journey:
            return False
        reached = current if current in self.journey else None
        return reached is not None and self.journey.index(target) <= self.journey.index(reached)


def load_lanes(path: Path = DATA / "lanes.yaml") -> Lanes:
    return Lanes.model_validate(yaml.safe_load(path.read_text()))


def load_tracking(path: Path = DATA / "tracking.yaml") -> Tracking:
    return Tracking.model_validate(yaml.safe_load(path.read_text()))
