"""The readiness rubric, loaded from data/readiness_rubric.yaml and checked for consistency."""

from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Self, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ekspora_contracts.registry import CertificateKind, Programme, Road, Tier

RUBRIC_PATH = Path(__file__).parent / "data" / "readiness_rubric.yaml"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TierRule(Strict):
    tier: Tier
    min_score: int = Field(ge=0, le=100)
    requires_all_required_certificates: bool = False


class Legality(Strict):
    max_points: int
    nib_verified_points: int
    nib_unverified_points: int


class MaxPoints(Strict):
    max_points: int


class Capacity(Strict):
    max_points: int
    partial_ratio: float = Field(gt=0, lt=1)
    partial_points: int


class Marketplace(Strict):
    max_points: int
    points_per_listing: int


class TrackRecordBand(Strict):
    min_reports: int
    min_average_rating: float
    min_reorder_rate: float = 0.0
    points: int


class MarketplaceRecordBand(Strict):
    min_orders: int
    min_months: int = Field(ge=1)
    points: int


class TrackRecord(Strict):
    max_points: int
    good: TrackRecordBand
    fair: TrackRecordBand
    marketplace: MarketplaceRecordBand


class Criteria(Strict):
    legality: Legality
    certificates: MaxPoints
    capacity: Capacity
    packaging: MaxPoints
    export_pricing: MaxPoints
    marketplace: Marketplace
    track_record: TrackRecord


class CategoryRule(Strict):
    label_id: str
    label_en: str
    required_certificates: list[list[CertificateKind]]
    typical_monthly_order_units: int = Field(gt=0)
    max_export_unit_price_idr: int = Field(gt=0)


class MilestoneSpec(Strict):
    code: str
    title_id: str
    title_en: str
    weeks: int = Field(ge=1, le=52)


Sale = Literal["export", "marketplace"]


class GapText(Strict):
    next_step_id: str
    next_step_en: str
    milestone: MilestoneSpec
    blocks: list[Sale] = ["export"]  # which selling the gap rules out while it is open
    programme: str | None = None  # the key of the programme (in `programmes`) that helps close it


class RoadText(Strict):
    reason_id: str
    reason_en: str


def certificate_gap_code(group: Sequence[str]) -> str:
    return "certificate." + "|".join(group)


class Renewal(Strict):
    id: str
    en: str


class CertificateWarnings(Strict):
    days_before: list[int] = Field(min_length=1)
    renewal: dict[str, Renewal]


class Sessions(Strict):
    remind_hours_before: int = Field(ge=1, le=168)


class Rubric(Strict):
    version: int
    source: str
    tiers: list[TierRule]
    criteria: Criteria
    categories: dict[str, CategoryRule]
    gaps: dict[str, GapText]
    programmes: dict[str, Programme]
    roads: dict[Road, RoadText]
    certificate_warnings: CertificateWarnings
    sessions: Sessions

    @model_validator(mode="after")
    def consistent(self) -> Self:
        total = sum(getattr(self.criteria, name).max_points for name in Criteria.model_fields)
        if total != 100:
            raise ValueError(f"criteria max_points add up to {total}, not 100")
        scores = [rule.min_score for rule in self.tiers]
        if scores != sorted(scores, reverse=True) or scores[-1] != 0:
            raise ValueError("tiers must be ordered by descending min_score and end at 0")
        needed = {certificate_gap_code(group) for c in self.categories.values() for group in c.required_certificates}
        if missing := needed - self.gaps.keys():
            raise ValueError(f"no next step for gaps {sorted(missing)}")
        if unknown := {g.programme for g in self.gaps.values() if g.programme} - self.programmes.keys():
            raise ValueError(f"gaps name programmes not described: {sorted(unknown)}")
        if missing_roads := set(get_args(Road)) - self.roads.keys():
            raise ValueError(f"no reason for roads {sorted(missing_roads)}")
        return self

    def gap_text(self, code: str) -> GapText:
        return self.gaps[code]

    def programme_for(self, gap_code: str) -> Programme | None:
        key = self.gaps[gap_code].programme
        return self.programmes[key] if key else None

    def milestone_for(self, gap_code: str) -> MilestoneSpec:
        return self.gaps[gap_code].milestone


def load_rubric(path: Path = RUBRIC_PATH) -> Rubric:
    return Rubric.model_validate(yaml.safe_load(path.read_text()))
