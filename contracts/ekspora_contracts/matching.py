"""Events produced by the matching service."""

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import Field

from ekspora_contracts.envelope import EventData, Region

# Currency and the demand values are defined beside the registry's road, which names them
from ekspora_contracts.registry import Closed, Currency, DemandValue, UnlockedDemand
from ekspora_contracts.topics import (
    MATCHING_DEMAND,
    MATCHING_MATCH,
    MATCHING_OPPORTUNITIES,
    MATCHING_PARTNERS,
    MATCHING_SALES,
    Stream,
)


class SalesReported(EventData):
    """A partner's sales feedback on a confirmed match or delivered order ("feedback dari penjualan")."""

    event_type: ClassVar[str] = "ekspora.matching.sales.reported.v1"
    stream: ClassVar[Stream] = MATCHING_SALES

    report_id: str
    match_id: str
    msme_id: str
    product_id: str
    partner_id: str
    region: Region
    units_sold: int = Field(ge=0)
    revenue_amount: int = Field(ge=0, description="Minor units (cents) of revenue_currency")
    revenue_currency: Currency
    returns: int = Field(ge=0)
    rating: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2000)
    will_reorder: bool
    reported_at: datetime
    repeat_order: bool = Field(default=False, description="The sales of an order the partner placed again")

    def aggregate_id(self) -> str:
        return self.msme_id


Country = Literal["NL", "AU"]
PartnerKind = Literal["diaspora_business", "community_association", "trade_office", "importer"]
DemandKind = Literal["rfq", "standing_interest"]
DemandStatus = Literal["open", "closed"]
Schedule = Literal["monthly", "quarterly"]
DemandOrigin = Literal["posted", "recurring", "reorder"]
Side = Literal["partner", "msme"]
Incoterm = Literal["FOB", "CFR", "CIF", "DAP"]
DocumentCode = Literal[
    "commercial_invoice",
    "packing_list",
    "peb_export_declaration",
    "ia_cepa_origin_declaration",
    "rex_statement_on_origin",
    "ske_health_certificate",
    "phytosanitary_certificate",
    "svlk_v_legal",
    "treatment_certificate",
]


class PartnerChangedV1(EventData):
    """No longer published: it carried the hash of the partner's API key, which the identity service now
    keeps alone. Its schema stays for the records still on the compacted topic."""

    event_type: ClassVar[str] = "ekspora.matching.partner.changed.v1"
    stream: ClassVar[Stream] = MATCHING_PARTNERS

    partner_id: str
    version: int = Field(ge=1)
    kind: PartnerKind
    name: str
    country: Country
    city: str
    categories: list[str]
    min_order_units: int = Field(ge=0)
    max_order_units: int = Field(ge=1)
    languages: list[str]
    contact_email: str
    verified: bool
    api_key_sha256: str = Field(description="SHA-256 of the partner's API key, so any instance can authenticate it")

    def aggregate_id(self) -> str:
        return self.partner_id


class PartnerChanged(EventData):
    """Full latest state of a partner (compacted topic: the newest record per partner is the truth)."""

    event_type: ClassVar[str] = "ekspora.matching.partner.changed.v2"
    stream: ClassVar[Stream] = MATCHING_PARTNERS

    partner_id: str
    version: int = Field(ge=1)
    kind: PartnerKind
    name: str
    country: Country
    city: str
    categories: list[str]
    min_order_units: int = Field(ge=0)
    max_order_units: int = Field(ge=1)
    languages: list[str]
    contact_email: str
    verified: bool
    address: str | None = Field(default=None, description="The consignee's street, postcode and city, for invoices")

    def aggregate_id(self) -> str:
        return self.partner_id


class DemandChanged(EventData):
    """Full latest state of a request for quotation or a standing interest (compacted topic)."""

    event_type: ClassVar[str] = "ekspora.matching.demand.changed.v1"
    stream: ClassVar[Stream] = MATCHING_DEMAND

    demand_id: str
    version: int = Field(ge=1)
    kind: DemandKind
    partner_id: str
    category: str | None
    hs_prefix: str | None = Field(default=None, pattern=r"^[0-9]{2,6}$")
    quantity: int = Field(ge=1)
    target_price_min: int | None = Field(default=None, ge=0, description="Minor units per unit, in currency")
    target_price_max: int | None = Field(default=None, ge=0)
    currency: Literal["EUR", "AUD"]
    required_certificates: list[str]
    needed_by: date | None
    destination_city: str
    destination_country: Country
    status: DemandStatus
    incoterm: Incoterm = Field(default="FOB", description="FOB Tanjung Perak by default; CFR, CIF or DAP on request")
    schedule: Schedule | None = Field(default=None, description="A standing interest's recurring orders")
    needed_within_days: int | None = Field(default=None, ge=14, description="Each recurring order is needed by then")
    next_order_on: date | None = Field(default=None, description="The day the next recurring order is placed")
    orders_placed: int = Field(default=0, ge=0, description="Recurring orders placed so far")
    origin: DemandOrigin = Field(default="posted", description="Posted, placed on a schedule, or a reorder")
    repeats: str | None = Field(default=None, description="The standing interest or the match this order repeats")
    preferred_products: list[str] = Field(default=[], description="The same suppliers, offered their part first")

    def aggregate_id(self) -> str:
        return self.demand_id


class ScorePart(Closed):
    criterion: str
    points: float
    max_points: float
    reason_id: str
    reason_en: str


class PriceQuote(Closed):
    """How a unit's price under the Incoterm is made up, in rupiah, and the exchange rate it was
    converted at (the rate of the day proposed; of the day confirmed once confirmed)."""

    named_place: str = Field(description="Tanjung Perak or Juanda for FOB; the destination port for CFR and CIF")
    mode: Literal["sea_lcl", "air"]
    product_idr: float = Field(gt=0)
    freight_idr: float = Field(ge=0)
    insurance_idr: float = Field(ge=0)
    delivery_idr: float = Field(ge=0)
    rate_on: date
    rate_source: str
    idr_per_currency_unit: float = Field(gt=0)


class MatchTerms(Closed):
    match_id: str
    region: Region
    product_id: str
    msme_id: str
    product_name: str
    category: str
    hs_code: str
    tariff_code: str | None = Field(default=None, description="The product's 8-digit BTKI code, for the PEB")
    unit: str
    net_weight_grams: int
    partner_id: str
    partner_name: str
    demand_id: str
    destination_country: Country
    destination_city: str
    quantity: int = Field(ge=1)
    unit_price_idr: int = Field(gt=0)
    unit_price: int = Field(gt=0, description="Minor units of currency per unit")
    currency: Literal["EUR", "AUD"]
    incoterm: Incoterm
    documents: list[DocumentCode]
    shelf_life_days: int | None = Field(default=None, ge=1, description="Perishables travel by air")
    quote: PriceQuote | None = Field(default=None, description="How unit_price is made up; absent before quotes")
    repeat: bool = Field(default=False, description="A partner's order again: recurring, or reordered")


class MatchProposed(EventData):
    event_type: ClassVar[str] = "ekspora.matching.match.proposed.v1"
    stream: ClassVar[Stream] = MATCHING_MATCH

    terms: MatchTerms
    score: float = Field(ge=0, le=100)
    breakdown: list[ScorePart]
    expires_at: datetime

    def aggregate_id(self) -> str:
        return self.terms.match_id


class MatchConfirmed(EventData):
    event_type: ClassVar[str] = "ekspora.matching.match.confirmed.v1"
    stream: ClassVar[Stream] = MATCHING_MATCH

    terms: MatchTerms
    confirmed_at: datetime

    def aggregate_id(self) -> str:
        return self.terms.match_id


class MatchRequoted(EventData):
    """A new price for an open proposal: the UMKM quoted its own (through an operator), or the partner
    countered, once. The side that moved has accepted it; the other has yet to."""

    event_type: ClassVar[str] = "ekspora.matching.match.requoted.v1"
    stream: ClassVar[Stream] = MATCHING_MATCH

    terms: MatchTerms
    by: Side
    previous_unit_price: int = Field(gt=0, description="Minor units of currency per unit, before")
    accepted_by: list[Side]

    def aggregate_id(self) -> str:
        return self.terms.match_id


class MatchDeclined(EventData):
    event_type: ClassVar[str] = "ekspora.matching.match.declined.v1"
    stream: ClassVar[Stream] = MATCHING_MATCH

    match_id: str
    region: Region
    product_id: str
    partner_id: str
    declined_by: Side
    reason: str = Field(default="", max_length=500)

    def aggregate_id(self) -> str:
        return self.match_id


WithdrawalReason = Literal["product_not_ready", "demand_closed"]


class MatchWithdrawn(EventData):
    """An open proposal that can no longer be kept: its product lost export readiness, was delisted or
    its UMKM withdrew, or its request closed (by the partner, or when its needed-by date passed). It
    can no longer be accepted; both sides are told why."""

    event_type: ClassVar[str] = "ekspora.matching.match.withdrawn.v1"
    stream: ClassVar[Stream] = MATCHING_MATCH

    terms: MatchTerms
    reason_code: WithdrawalReason
    reason_en: str = Field(max_length=500)
    reason_id: str = Field(max_length=500)
    withdrawn_at: datetime

    def aggregate_id(self) -> str:
        return self.terms.match_id


class MatchExpired(EventData):
    event_type: ClassVar[str] = "ekspora.matching.match.expired.v1"
    stream: ClassVar[Stream] = MATCHING_MATCH

    match_id: str
    region: Region
    product_id: str
    partner_id: str
    accepted_by: list[Side]

    def aggregate_id(self) -> str:
        return self.match_id


class OpportunitiesChanged(EventData):
    """The demand each gap of a not-ready product keeps it from, largest first; empty once the product
    is export-ready or nothing open would take it."""

    event_type: ClassVar[str] = "ekspora.matching.opportunities.changed.v1"
    stream: ClassVar[Stream] = MATCHING_OPPORTUNITIES

    product_id: str
    msme_id: str
    region: Region
    once_ready: DemandValue | None = Field(description="What it would match once export-ready as it is")
    opportunities: list[UnlockedDemand] = Field(description="Per gap that changes what it matches, largest first")
    rate_on: date

    def aggregate_id(self) -> str:
        return self.product_id
