"""What matching knows of the world: partners and their demand, products on offer, exchange rates."""

from datetime import date
from typing import Literal

from ekspora_contracts.matching import (
    Country,
    DemandChanged,
    DemandKind,
    DemandOrigin,
    DemandStatus,
    Incoterm,
    OpportunitiesChanged,
    PartnerChanged,
    PartnerKind,
    SalesReported,
    Schedule,
)
from ekspora_contracts.registry import DemandValue, ProductFacts, UnlockedDemand
from ekspora_contracts.shipping import LaneChanged, LaneCosts, ModeSchedule
from ekspora_kit.domain import Model


class Partner(Model):
    partner_id: str
    version: int = 1
    kind: PartnerKind
    name: str
    country: Country
    city: str
    categories: list[str]
    min_order_units: int
    max_order_units: int
    languages: list[str]
    contact_email: str
    verified: bool = False
    address: str | None = None

    def changed_event(self) -> PartnerChanged:
        return PartnerChanged(**self.model_dump())


class PartnerStats(Model):
    version: int = 0
    reports: int = 0
    rating_sum: int = 0
    reorders: int = 0
    applied_report_ids: list[str] = []

    @property
    def average_rating(self) -> float:
        return self.rating_sum / self.reports if self.reports else 0.0

    @property
    def reorder_rate(self) -> float:
        return self.reorders / self.reports if self.reports else 0.0

    def with_report(self, report: SalesReported) -> "PartnerStats | None":
        if report.report_id in self.applied_report_ids:
            return None
        return PartnerStats(
            reports=self.reports + 1,
            rating_sum=self.rating_sum + report.rating,
            reorders=self.reorders + int(report.will_reorder),
            applied_report_ids=[*self.applied_report_ids, report.report_id][-500:],
        )


class Demand(Model):
    demand_id: str
    version: int = 1
    kind: DemandKind
    partner_id: str
    category: str | None
    hs_prefix: str | None
    quantity: int
    target_price_min: int | None
    target_price_max: int | None
    currency: Literal["EUR", "AUD"]
    required_certificates: list[str]
    needed_by: date | None
    destination_city: str
    destination_country: Country
    status: DemandStatus = "open"
    incoterm: Incoterm = "FOB"
    schedule: Schedule | None = None
    needed_within_days: int | None = None
    next_order_on: date | None = None
    orders_placed: int = 0
    origin: DemandOrigin = "posted"
    repeats: str | None = None
    preferred_products: list[str] = []

    def changed_event(self) -> DemandChanged:
        return DemandChanged(**self.model_dump())


class Lane(Model):
    """A destination shipping serves, as it announced it on the lanes topic."""

    destination_city: str
    version: int
    served: bool
    country: Country
    port: str
    airport: str
    modes: list[ModeSchedule]
    air_when_shelf_life_below_days: int
    costs: LaneCosts | None = None

    @classmethod
    def of(cls, event: LaneChanged) -> "Lane":
        return cls.model_validate(event.model_dump())

    def schedule_for(self, product: ProductFacts) -> ModeSchedule:
        """Perishables fly, the rest sail (as shipping decides it)."""
        short_lived = (
            product.shelf_life_days is not None and product.shelf_life_days < self.air_when_shelf_life_below_days
        )
        wanted = "air" if short_lived else "sea_lcl"
        return next((m for m in self.modes if m.mode == wanted), self.modes[0])

    def lead_days(self, product: ProductFacts) -> int:
        """Days from the end of production to arrival, at worst: waiting for the week's departure, the
        cutoff before it, and the transit."""
        schedule = self.schedule_for(product)
        return schedule.departures_every_days + schedule.cutoff_days_before + schedule.transit_days


def unserved(city: str, country: str, lanes: list[Lane]) -> str | None:
    """Why a request for `city` in `country` cannot be posted, naming the destinations that are served;
    None when a lane reaches it."""
    served = [lane for lane in lanes if lane.served]
    if any(lane.destination_city == city and lane.country == country for lane in served):
        return None
    names = ", ".join(f"{lane.destination_city} (port of {lane.port})" for lane in served if lane.country == country)
    return f"no shipping lane reaches {city}, {country}; served: {names or 'none yet'}"


class Offer(Model):
    """A product as matching sees it (from the registry's product events): proposed once export-ready;
    before that, its gaps say what keeps it from which requests (see opportunities)."""

    product: ProductFacts
    readiness_score: int
    ready: bool
    gap_codes: list[str] = []

    @property
    def hs_prefixes(self) -> list[str]:
        code = self.product.hs_code
        return [code[:2], code[:4], code]


class ProductOpportunities(Model):
    """What matching last published of a not-ready product's opportunities (the outbox's aggregate)."""

    product_id: str
    msme_id: str
    region: str
    version: int = 0
    once_ready: DemandValue | None = None
    opportunities: list[UnlockedDemand] = []
    rate_on: date

    def same_as(self, other: "ProductOpportunities | None") -> bool:
        """The same demand behind it, whatever day's rate it was valued at."""
        return other is not None and (self.once_ready, self.opportunities) == (other.once_ready, other.opportunities)

    def changed_event(self) -> OpportunitiesChanged:
        return OpportunitiesChanged(
            product_id=self.product_id,
            msme_id=self.msme_id,
            region=self.region,
            once_ready=self.once_ready,
            opportunities=self.opportunities,
            rate_on=self.rate_on,
        )
