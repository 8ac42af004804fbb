"""Events produced by the registry service."""

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from ekspora_contracts.envelope import EventData, Region
from ekspora_contracts.topics import REGISTRY_CONTACTS, REGISTRY_MSME, REGISTRY_PRODUCT, REGISTRY_SUPPLIERS, Stream

Language = Literal["id", "en", "nl"]
Tier = Literal["siap", "setengah", "didorong"]
CertificateKind = Literal["pirt", "bpom_md", "halal", "sni", "organic", "svlk"]
NIB_PATTERN = r"^[0-9]{13}$"
E164_PATTERN = r"^\+[1-9][0-9]{7,14}$"
HS_CODE_PATTERN = r"^[0-9]{6}$"  # the international HS subheading, what matching compares
TARIFF_CODE_PATTERN = r"^[0-9]{8}$"  # the Indonesian tariff book's (BTKI) code, what the PEB declares
CATEGORY_PATTERN = r"^[a-z][a-z_]{1,40}$"


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Certificate(Closed):
    kind: CertificateKind
    number: str
    expires_on: date


class Programme(Closed):
    """A public programme that helps close a gap (halal self-declaration, KUR financing, ...)."""

    name: str
    url: str


class Gap(Closed):
    code: str = Field(description="Stable gap code, e.g. certificate.halal")
    criterion: str
    points_missing: int
    next_step_id: str = Field(description="Concrete next step in Bahasa Indonesia")
    next_step_en: str = Field(description="The same step in English")
    programme: Programme | None = Field(default=None, description="The programme that helps close it")


class CriterionScore(Closed):
    criterion: str
    points: int
    max_points: int
    detail: str


class MsmeRegisteredV1(EventData):
    """No longer published: it carried the owner's name and NIB on a public topic. Its schema stays
    for the records still on the topics (see contracts/README.md, "The one deliberate break")."""

    event_type: ClassVar[str] = "ekspora.registry.msme.registered.v1"
    stream: ClassVar[Stream] = REGISTRY_MSME

    msme_id: str
    region: Region
    business_name: str
    owner_name: str
    nib: str = Field(pattern=NIB_PATTERN)
    sector: str
    kelurahan: str
    kecamatan: str
    preferred_language: Language

    def aggregate_id(self) -> str:
        return self.msme_id


class MsmeRegistered(EventData):
    """A new UMKM, as anyone may know it: no owner, no NIB (both travel on the private contacts
    stream, or stay in the registry)."""

    event_type: ClassVar[str] = "ekspora.registry.msme.registered.v2"
    stream: ClassVar[Stream] = REGISTRY_MSME

    msme_id: str
    region: Region
    business_name: str
    sector: str
    kelurahan: str
    kecamatan: str
    preferred_language: Language

    def aggregate_id(self) -> str:
        return self.msme_id


class MsmeUpdated(EventData):
    """The public profile after a change. Contact data never travels here."""

    event_type: ClassVar[str] = "ekspora.registry.msme.updated.v1"
    stream: ClassVar[Stream] = REGISTRY_MSME

    msme_id: str
    region: Region
    business_name: str
    sector: str
    kelurahan: str
    kecamatan: str
    preferred_language: Language
    nib_verified: bool
    changed_fields: list[str]

    def aggregate_id(self) -> str:
        return self.msme_id


class MsmeContactChanged(EventData):
    """Private: carries personal data, published only on the registry.contacts stream."""

    event_type: ClassVar[str] = "ekspora.registry.msme.contact_changed.v1"
    stream: ClassVar[Stream] = REGISTRY_CONTACTS

    msme_id: str
    region: Region
    owner_name: str
    whatsapp: str | None = Field(default=None, pattern=E164_PATTERN)
    email: str | None = None
    preferred_language: Language
    timezone: str

    def aggregate_id(self) -> str:
        return self.msme_id


class SupplierChanged(EventData):
    """Private: an UMKM as it appears on export papers (the invoice's supplier, the PEB's producer), on
    the registry.suppliers stream that only shipping reads. The latest record per UMKM is the truth."""

    event_type: ClassVar[str] = "ekspora.registry.supplier.changed.v1"
    stream: ClassVar[Stream] = REGISTRY_SUPPLIERS

    msme_id: str
    region: Region
    business_name: str
    nib: str = Field(pattern=NIB_PATTERN)
    nib_verified: bool
    kelurahan: str
    kecamatan: str

    def aggregate_id(self) -> str:
        return self.msme_id


class CertificateExpiring(EventData):
    """A certificate expires in `days_left` days: its owner is told, once per warning, how to renew it."""

    event_type: ClassVar[str] = "ekspora.registry.certificate.expiring.v1"
    stream: ClassVar[Stream] = REGISTRY_MSME

    msme_id: str
    region: Region
    product_id: str
    product_name: str
    kind: CertificateKind
    number: str
    expires_on: date
    days_left: int = Field(ge=0)
    warning: int = Field(description="Which warning this is, in days before expiry (30 or 7 by default)")
    renewal_id: str = Field(description="How to renew it, in Bahasa Indonesia")
    renewal_en: str

    def aggregate_id(self) -> str:
        return self.msme_id


class CertificateEvidenceRejected(EventData):
    """The scan behind a certificate was not accepted: the owner is told why, and the certificate does not
    count until a new scan is verified."""

    event_type: ClassVar[str] = "ekspora.registry.certificate.evidence_rejected.v1"
    stream: ClassVar[Stream] = REGISTRY_MSME

    msme_id: str
    region: Region
    product_id: str
    product_name: str
    kind: CertificateKind
    reason: str

    def aggregate_id(self) -> str:
        return self.msme_id


class ReadinessAssessedV1(EventData):
    """An UMKM's readiness changed. Published beside v2, which adds the road, until every reader of
    the public topic has moved to v2 (contracts/README.md)."""

    event_type: ClassVar[str] = "ekspora.registry.readiness.assessed.v1"
    stream: ClassVar[Stream] = REGISTRY_MSME

    msme_id: str
    region: Region
    score: int = Field(ge=0, le=100)
    tier: Tier
    previous_tier: Tier | None
    gaps: list[Gap]
    criteria: list[CriterionScore]
    best_product_id: str | None
    trigger: str = Field(description="What changed the evidence, e.g. certificate_added")

    def aggregate_id(self) -> str:
        return self.msme_id


class ProductAssessed(EventData):
    """A product's own readiness changed (its score, tier or gaps): what matching needs to work out
    which open requests each gap keeps it from."""

    event_type: ClassVar[str] = "ekspora.registry.product.assessed.v1"
    stream: ClassVar[Stream] = REGISTRY_PRODUCT

    product_id: str
    msme_id: str
    region: Region
    score: int = Field(ge=0, le=100)
    tier: Tier
    gaps: list[Gap]

    def aggregate_id(self) -> str:
        return self.product_id


Currency = Literal["EUR", "AUD", "IDR"]


class Amount(Closed):
    currency: Currency
    minor_units: int = Field(ge=0)


class DemandValue(Closed):
    """Open requests and standing interests a product would match, and what its part of them is worth."""

    requests: int = Field(ge=1)
    demand_ids: list[str]
    units: int = Field(ge=0, description="Units it could supply of them")
    value: list[Amount] = Field(description="Those units at its quoted price, per currency")
    value_idr: int = Field(ge=0, description="The same in rupiah at the day's planning rate, to order by")


class UnlockedDemand(DemandValue):
    """What closing one gap of a product would open, beyond what it matches once export-ready as it is."""

    gap_code: str = Field(description="The registry's gap code, e.g. certificate.halal")


Road = Literal["go_international", "go_to_marketplace", "incubate_first"]


class RoadAdvice(Closed):
    """Which of the seed's roads an UMKM should take now, why, and its next steps in order."""

    road: Road = Field(
        description="go_international: export-ready; go_to_marketplace: gaps block export but not selling online "
        "at home or across borders; incubate_first: a gap blocks even that (a food permit, say)"
    )
    reason_id: str
    reason_en: str
    next_steps: list[Gap] = Field(description="The gaps to close, first things first on this road")
    unlocked: list[UnlockedDemand] = Field(
        default=[], description="Per next step, the open demand closing it would open (from matching)"
    )


class ReadinessAssessed(ReadinessAssessedV1):
    """An UMKM's readiness changed, and the road it should take now."""

    event_type: ClassVar[str] = "ekspora.registry.readiness.assessed.v2"
    stream: ClassVar[Stream] = REGISTRY_MSME

    road: RoadAdvice


class ProductFacts(Closed):
    """What other services need to know of a product (no personal data)."""

    product_id: str
    msme_id: str
    region: Region
    name: str
    description_id: str
    description_en: str
    category: str = Field(pattern=CATEGORY_PATTERN)
    hs_code: str = Field(pattern=HS_CODE_PATTERN)
    tariff_code: str | None = Field(
        default=None, pattern=TARIFF_CODE_PATTERN, description="8 digits (BTKI) beginning with hs_code"
    )
    unit: str
    unit_price_idr: int = Field(gt=0)
    minimum_order_quantity: int = Field(ge=1)
    monthly_capacity: int = Field(ge=0)
    net_weight_grams: int = Field(gt=0)
    shelf_life_days: int | None = Field(default=None, ge=1)
    english_label: bool
    certificates: list[Certificate]


class ProductListed(EventData):
    event_type: ClassVar[str] = "ekspora.registry.product.listed.v1"
    stream: ClassVar[Stream] = REGISTRY_PRODUCT

    product: ProductFacts

    def aggregate_id(self) -> str:
        return self.product.product_id


class ProductUpdated(EventData):
    event_type: ClassVar[str] = "ekspora.registry.product.updated.v1"
    stream: ClassVar[Stream] = REGISTRY_PRODUCT

    product: ProductFacts
    changed_fields: list[str]

    def aggregate_id(self) -> str:
        return self.product.product_id


class ProductExportReady(EventData):
    """A product of a `siap` UMKM became export-ready; emitted once per readiness change."""

    event_type: ClassVar[str] = "ekspora.registry.product.export_ready.v1"
    stream: ClassVar[Stream] = REGISTRY_PRODUCT

    product: ProductFacts
    score: int = Field(ge=0, le=100)

    def aggregate_id(self) -> str:
        return self.product.product_id


class ProductExportReadinessLost(EventData):
    """An export-ready product is no longer ready (expired certificate, lower tier, …)."""

    event_type: ClassVar[str] = "ekspora.registry.product.export_readiness_lost.v1"
    stream: ClassVar[Stream] = REGISTRY_PRODUCT

    product_id: str
    msme_id: str
    region: Region
    reasons: list[str]

    def aggregate_id(self) -> str:
        return self.product_id


class Milestone(Closed):
    code: str
    title_id: str
    title_en: str
    gap_code: str
    due_on: date | None = Field(default=None, description="When the cohort expects it done")


class IncubationEnrolled(EventData):
    event_type: ClassVar[str] = "ekspora.registry.incubation.enrolled.v1"
    stream: ClassVar[Stream] = REGISTRY_MSME

    msme_id: str
    region: Region
    cohort_id: str
    cohort_name: str
    tier_at_enrolment: Tier
    milestones: list[Milestone]

    def aggregate_id(self) -> str:
        return self.msme_id


class IncubationSession(Closed):
    """A coaching session of a cohort: when and where, with whom."""

    session_id: str
    title: str = Field(max_length=200)
    starts_at: datetime
    place: str = Field(max_length=200)
    mentor: str = Field(max_length=200, description="Who leads it, with their organisation")


class IncubationSessionScheduled(EventData):
    """A member of a cohort is invited to a session."""

    event_type: ClassVar[str] = "ekspora.registry.incubation.session_scheduled.v1"
    stream: ClassVar[Stream] = REGISTRY_MSME

    msme_id: str
    region: Region
    cohort_id: str
    session: IncubationSession

    def aggregate_id(self) -> str:
        return self.msme_id


class IncubationSessionComing(IncubationSessionScheduled):
    """A session a member is invited to is near (the rubric says how near)."""

    event_type: ClassVar[str] = "ekspora.registry.incubation.session_coming.v1"
    stream: ClassVar[Stream] = REGISTRY_MSME


class IncubationMilestoneCompleted(EventData):
    event_type: ClassVar[str] = "ekspora.registry.incubation.milestone_completed.v1"
    stream: ClassVar[Stream] = REGISTRY_MSME

    msme_id: str
    region: Region
    cohort_id: str
    milestone: Milestone
    completed_by: Literal["operator", "evidence"]
    remaining: int = Field(ge=0)

    def aggregate_id(self) -> str:
        return self.msme_id


class IncubationGraduated(EventData):
    event_type: ClassVar[str] = "ekspora.registry.incubation.graduated.v1"
    stream: ClassVar[Stream] = REGISTRY_MSME

    msme_id: str
    region: Region
    cohort_id: str
    score: int = Field(ge=0, le=100)
    days_in_incubation: int = Field(ge=0)

    def aggregate_id(self) -> str:
        return self.msme_id


class ProductDelisted(EventData):
    """A product is taken off the registry (its export readiness, if any, is withdrawn first)."""

    event_type: ClassVar[str] = "ekspora.registry.product.delisted.v1"
    stream: ClassVar[Stream] = REGISTRY_PRODUCT

    product_id: str
    msme_id: str
    region: Region
    reason: str

    def aggregate_id(self) -> str:
        return self.product_id


class MsmeWithdrawn(EventData):
    """An UMKM leaves the platform; its record stays for history, and it takes no more changes."""

    event_type: ClassVar[str] = "ekspora.registry.msme.withdrawn.v1"
    stream: ClassVar[Stream] = REGISTRY_MSME

    msme_id: str
    region: Region
    reason: str

    def aggregate_id(self) -> str:
        return self.msme_id
