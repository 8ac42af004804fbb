"""The registry's state: an UMKM with its profile, products, assessment and incubation, and cohorts."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

from pydantic import Field

from ekspora_contracts.envelope import EventData, Region
from ekspora_contracts.registry import (
    Certificate,
    CriterionScore,
    DemandValue,
    Gap,
    IncubationSession,
    Language,
    Milestone,
    RoadAdvice,
    Tier,
    UnlockedDemand,
)
from ekspora_kit.domain import Model, NotFound
from ekspora_kit.files import StoredFile
from ekspora_kit.tokens import PERSON_ID_PATTERN

Sector = Literal["food", "beverage", "craft", "textile", "furniture", "fashion", "agriculture"]

Marketplace = Literal["tokopedia", "shopee", "lazada", "tiktok_shop", "bukalapak", "blibli", "own_website", "other"]

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"


class Evidence(StoredFile):
    """The scan behind a certificate, and its review."""

    status: Literal["uploaded", "verified", "rejected"] = "uploaded"
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    rejected_reason: str | None = None


class HeldCertificate(Certificate):
    """A certificate as the registry holds it: it counts once its evidence is verified, and its owner
    is warned before it expires (`warned_days`: the warnings sent, in days before expiry)."""

    evidence: Evidence | None = None
    warned_days: list[int] = []

    @property
    def counts(self) -> bool:
        return self.evidence is not None and self.evidence.status == "verified"

    def as_contract(self) -> Certificate:
        return Certificate(kind=self.kind, number=self.number, expires_on=self.expires_on)


class Product(Model):
    product_id: str
    name: str
    description_id: str
    description_en: str
    category: str
    hs_code: str
    unit: str
    unit_price_idr: int
    minimum_order_quantity: int
    monthly_capacity: int
    net_weight_grams: int
    shelf_life_days: int | None
    english_label: bool
    certificates: list[HeldCertificate] = []
    listed_at: datetime
    score: int = 0
    tier: Tier = "didorong"
    export_ready: bool = False
    gap_codes: list[str] = []  # as last published (product.assessed), to publish only a change
    once_ready: DemandValue | None = None  # what matching finds open to it once export-ready
    unlocked: list[UnlockedDemand] = []  # and per gap what closing it would open, largest first
    opportunities_at: datetime | None = None


class Listing(Model):
    platform: Marketplace
    url: str
    added_at: datetime


class PlatformSales(Model):
    """What an UMKM sold on one marketplace, from the seller centre's exports it imported: each order
    line once, however often an export holding it is imported."""

    orders: int
    units: int
    revenue_idr: int
    first_sale_on: date
    last_sale_on: date
    imported_at: datetime


class TrackRecord(Model):
    reports: int = 0
    units_sold: int = 0
    returns: int = 0
    rating_sum: int = 0
    reorder_intents: int = 0
    repeat_orders: int = 0  # reports on orders a partner placed again
    revenue_minor_units: dict[str, int] = {}

    @property
    def average_rating(self) -> float:
        return self.rating_sum / self.reports if self.reports else 0.0

    @property
    def reorder_rate(self) -> float:
        return self.reorder_intents / self.reports if self.reports else 0.0


class Assessment(Model):
    score: int
    tier: Tier
    gaps: list[Gap]
    criteria: list[CriterionScore]
    best_product_id: str | None
    assessed_at: datetime
    trigger: str
    road: RoadAdvice | None = None  # None on assessments made before roads were recommended


class Witnessed(Model):
    """What a coach saw done: in words, and its document or photo."""

    recorded_by: str
    note: str | None = None
    evidence: StoredFile | None = None


class MilestoneProgress(Model):
    code: str
    title_id: str
    title_en: str
    gap_code: str
    due_on: date | None = None
    completed_at: datetime | None = None
    completed_by: Literal["operator", "evidence"] | None = None
    recorded_by: str | None = None  # the operator or mentor who recorded it (not for automatic evidence)
    note: str | None = None  # what they saw done: the evidence in words
    evidence: StoredFile | None = None  # and its document or photo

    def overdue(self, today: date) -> bool:
        return self.completed_at is None and self.due_on is not None and self.due_on < today

    def as_milestone(self) -> Milestone:
        return Milestone(
            code=self.code, title_id=self.title_id, title_en=self.title_en, gap_code=self.gap_code, due_on=self.due_on
        )


class SessionPlan(IncubationSession):
    """A session as one member holds it: told of it, reminded, and whether they came."""

    reminded: bool = False
    attended: bool | None = None


class Enrolment(Model):
    cohort_id: str
    cohort_name: str
    enrolled_at: datetime
    tier_at_enrolment: Tier
    milestones: list[MilestoneProgress]
    sessions: list[SessionPlan] = []
    graduated_at: datetime | None = None


class Profile(Model):
    region: Region
    business_name: str
    owner_name: str
    nib: str
    sector: Sector
    kelurahan: str
    kecamatan: str
    whatsapp: str | None
    email: str | None
    preferred_language: Language
    timezone: str


class Msme(Model):
    msme_id: str
    version: int = 0
    registered_at: datetime
    updated_at: datetime
    profile: Profile
    nib_verified: bool = False
    products: list[Product] = []
    listings: list[Listing] = []
    marketplace_sales: dict[Marketplace, PlatformSales] = {}
    track_record: TrackRecord = TrackRecord()
    applied_report_ids: list[str] = []
    assessment: Assessment | None = None
    incubation: Enrolment | None = None
    # the next moment the clock changes something: a certificate's warning or expiry, or a session's
    # reminder (the name is older than the reminders; the expiry check applies them all)
    next_certificate_expiry: datetime | None = None
    withdrawn_at: datetime | None = None

    @property
    def region(self) -> str:
        return self.profile.region

    @property
    def tier(self) -> Tier | None:
        return self.assessment.tier if self.assessment else None

    def listings_with_sales(self) -> list[Listing]:
        """Listings on a marketplace the UMKM has imported sales from: those count for readiness."""
        return [listing for listing in self.listings if listing.platform in self.marketplace_sales]

    def product(self, product_id: str) -> Product:
        for product in self.products:
            if product.product_id == product_id:
                return product
        raise NotFound(f"UMKM {self.msme_id} has no product {product_id}")


class Mentor(Model):
    """Who coaches a cohort: from Kadin, Bank Indonesia, the city's cooperative office. Each signs in
    with an account of its own (identity's role mentor): it reads the region, and takes attendance and
    records milestones with their evidence in the cohorts it mentors."""

    name: str = Field(min_length=2, max_length=120)
    organisation: str = Field(min_length=2, max_length=120)
    email: str = Field(pattern=EMAIL_PATTERN, max_length=254)
    # None on mentors added before mentors had accounts: they coach nothing until added again with one
    person_id: str | None = Field(default=None, pattern=PERSON_ID_PATTERN)


class Cohort(Model):
    cohort_id: str
    region: Region
    name: str = Field(min_length=3, max_length=120)
    starts_on: date
    ends_on: date | None = None
    created_at: datetime
    mentors: list[Mentor] = []


@dataclass
class Change:
    msme: Msme
    events: list[EventData] = field(default_factory=list)
    new_assessment: Assessment | None = None


def touched(msme: Msme, now: datetime) -> Msme:
    return msme.model_copy(update={"updated_at": now})
