"""Registry domain: UMKM, their products, readiness and incubation. Pure rules, no I/O.

Every operation takes the current UMKM and returns a `Change`: the new state and the events it
causes. Evidence changes end in `_reassess`, which scores each product with the rubric, keeps the
UMKM's assessment (its best product's), and emits readiness, export-readiness and incubation
events only when something really changed.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import Field, HttpUrl, field_validator

from ekspora_contracts.envelope import EventData, Region
from ekspora_contracts.matching import SalesReported
from ekspora_contracts.registry import (
    CATEGORY_PATTERN,
    E164_PATTERN,
    HS_CODE_PATTERN,
    NIB_PATTERN,
    Certificate,
    CertificateKind,
    CriterionScore,
    Gap,
    IncubationEnrolled,
    IncubationGraduated,
    IncubationMilestoneCompleted,
    Language,
    Milestone,
    MsmeContactChanged,
    MsmeRegistered,
    MsmeUpdated,
    MsmeWithdrawn,
    ProductDelisted,
    ProductExportReadinessLost,
    ProductExportReady,
    ProductFacts,
    ProductListed,
    ProductUpdated,
    ReadinessAssessed,
    Tier,
)
from ekspora_kit.domain import Invalid, Model, NotAllowed
from ekspora_registry.rubric import CategoryRule, Rubric, certificate_gap_code

Sector = Literal["food", "beverage", "craft", "textile", "furniture", "fashion", "agriculture"]
Marketplace = Literal["tokopedia", "shopee", "lazada", "tiktok_shop", "bukalapak", "blibli", "own_website", "other"]
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"


# --- commands (what operators send) ---------------------------------------------------------


class RegisterMsme(Model):
    region: Region
    business_name: str = Field(min_length=2, max_length=120)
    owner_name: str = Field(min_length=2, max_length=120)
    nib: str = Field(pattern=NIB_PATTERN, description="Nomor Induk Berusaha: exactly 13 digits")
    sector: Sector
    kelurahan: str = Field(min_length=2, max_length=80)
    kecamatan: str = Field(min_length=2, max_length=80)
    whatsapp: str | None = Field(default=None, pattern=E164_PATTERN, description="E.164, e.g. +6281234567890")
    email: str | None = Field(default=None, pattern=EMAIL_PATTERN, max_length=254)
    preferred_language: Language = "id"
    timezone: str = "Asia/Jakarta"

    @field_validator("timezone")
    @classmethod
    def known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except Exception as error:
            raise ValueError(f"unknown time zone {value}") from error
        return value


class UpdateMsme(Model):
    business_name: str | None = Field(default=None, min_length=2, max_length=120)
    owner_name: str | None = Field(default=None, min_length=2, max_length=120)
    sector: Sector | None = None
    kelurahan: str | None = Field(default=None, min_length=2, max_length=80)
    kecamatan: str | None = Field(default=None, min_length=2, max_length=80)
    whatsapp: str | None = Field(default=None, pattern=E164_PATTERN)
    email: str | None = Field(default=None, pattern=EMAIL_PATTERN, max_length=254)
    preferred_language: Language | None = None


class ListProduct(Model):
    name: str = Field(min_length=2, max_length=120)
    description_id: str = Field(min_length=2, max_length=2000)
    description_en: str = Field(min_length=2, max_length=2000)
    category: str = Field(pattern=CATEGORY_PATTERN)
    hs_code: str = Field(pattern=HS_CODE_PATTERN, description="Harmonized System code, 6 digits")
    unit: str = Field(min_length=1, max_length=40, examples=["pack 250 g"])
    unit_price_idr: int = Field(gt=0, description="Price per unit in rupiah, whole number")
    minimum_order_quantity: int = Field(ge=1)
    monthly_capacity: int = Field(ge=0)
    net_weight_grams: int = Field(gt=0)
    shelf_life_days: int | None = Field(default=None, ge=1)
    english_label: bool = False


class UpdateProduct(Model):
    name: str | None = Field(default=None, min_length=2, max_length=120)
    description_id: str | None = Field(default=None, min_length=2, max_length=2000)
    description_en: str | None = Field(default=None, min_length=2, max_length=2000)
    unit_price_idr: int | None = Field(default=None, gt=0)
    minimum_order_quantity: int | None = Field(default=None, ge=1)
    monthly_capacity: int | None = Field(default=None, ge=0)
    net_weight_grams: int | None = Field(default=None, gt=0)
    shelf_life_days: int | None = Field(default=None, ge=1)
    english_label: bool | None = None


class AddCertificate(Model):
    kind: CertificateKind
    number: str = Field(min_length=3, max_length=80)
    expires_on: date


class AddListing(Model):
    platform: Marketplace
    url: HttpUrl


# --- state ----------------------------------------------------------------------------------


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
    certificates: list[Certificate] = []
    listed_at: datetime
    score: int = 0
    tier: Tier = "didorong"
    export_ready: bool = False


class Listing(Model):
    platform: Marketplace
    url: str
    added_at: datetime


class TrackRecord(Model):
    reports: int = 0
    units_sold: int = 0
    returns: int = 0
    rating_sum: int = 0
    reorder_intents: int = 0
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


class MilestoneProgress(Model):
    code: str
    title_id: str
    title_en: str
    gap_code: str
    completed_at: datetime | None = None
    completed_by: Literal["operator", "evidence"] | None = None

    def as_milestone(self) -> Milestone:
        return Milestone(code=self.code, title_id=self.title_id, title_en=self.title_en, gap_code=self.gap_code)


class Enrollment(Model):
    cohort_id: str
    cohort_name: str
    enrolled_at: datetime
    tier_at_enrolment: Tier
    milestones: list[MilestoneProgress]
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
    track_record: TrackRecord = TrackRecord()
    applied_report_ids: list[str] = []
    assessment: Assessment | None = None
    incubation: Enrollment | None = None
    next_certificate_expiry: datetime | None = None
    withdrawn_at: datetime | None = None

    @property
    def region(self) -> str:
        return self.profile.region

    @property
    def tier(self) -> Tier | None:
        return self.assessment.tier if self.assessment else None

    def product(self, product_id: str) -> Product:
        for product in self.products:
            if product.product_id == product_id:
                return product
        raise LookupError(product_id)


class Cohort(Model):
    cohort_id: str
    region: Region
    name: str = Field(min_length=3, max_length=120)
    starts_on: date
    ends_on: date | None = None
    created_at: datetime


@dataclass
class Change:
    msme: Msme
    events: list[EventData] = field(default_factory=list)
    new_assessment: Assessment | None = None


# --- scoring --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scored:
    score: int
    tier: Tier
    criteria: list[CriterionScore]
    gaps: list[Gap]
    product_id: str | None


def local_today(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def valid_certificates(product: Product, today: date) -> set[str]:
    """Kinds that count today: a certificate stops counting on its expiry date."""
    return {certificate.kind for certificate in product.certificates if certificate.expires_on > today}


class _ScoreSheet:
    """Points and gaps per criterion, as the rubric awards them."""

    def __init__(self, rubric: Rubric) -> None:
        self.rubric = rubric
        self.criteria: list[CriterionScore] = []
        self.gaps: list[Gap] = []

    def award(self, criterion: str, points: int, max_points: int, detail: str, gap_codes: Sequence[str] = ()) -> None:
        self.criteria.append(CriterionScore(criterion=criterion, points=points, max_points=max_points, detail=detail))
        for code in gap_codes:
            self.gap(code, criterion, (max_points - points) // len(gap_codes))

    def gap(self, code: str, criterion: str, points_missing: int) -> None:
        text = self.rubric.gap_text(code)
        self.gaps.append(
            Gap(
                code=code,
                criterion=criterion,
                points_missing=points_missing,
                next_step_id=text.next_step_id,
                next_step_en=text.next_step_en,
            )
        )

    @property
    def score(self) -> int:
        return sum(c.points for c in self.criteria)


def score_product(msme: Msme, product: Product | None, rubric: Rubric, today: date) -> Scored:
    sheet = _ScoreSheet(rubric)
    _legality(sheet, msme)
    if product is None:
        certificates_complete = False
        product_criteria = ("certificates", "capacity", "packaging", "export_pricing")
        for name in product_criteria:
            sheet.award(name, 0, getattr(rubric.criteria, name).max_points, "no product registered")
        sheet.gap("product.none", "product", sum(getattr(rubric.criteria, n).max_points for n in product_criteria))
    else:
        category = rubric.categories[product.category]
        certificates_complete = _certificates(sheet, product, category, today)
        _capacity(sheet, product, category)
        _packaging(sheet, product)
        _export_pricing(sheet, product, category)
    _marketplace(sheet, msme)
    _track_record(sheet, msme.track_record)
    tier = next(
        rule.tier
        for rule in rubric.tiers
        if sheet.score >= rule.min_score and (certificates_complete or not rule.requires_all_required_certificates)
    )
    return Scored(sheet.score, tier, sheet.criteria, sheet.gaps, product.product_id if product else None)


def _legality(sheet: _ScoreSheet, msme: Msme) -> None:
    rule = sheet.rubric.criteria.legality
    if msme.nib_verified:
        sheet.award("legality", rule.nib_verified_points, rule.max_points, f"NIB {msme.profile.nib} verified")
    else:
        sheet.award(
            "legality",
            rule.nib_unverified_points,
            rule.max_points,
            f"NIB {msme.profile.nib} on file, not yet verified",
            ["legality.nib_unverified"],
        )


def _certificates(sheet: _ScoreSheet, product: Product, category: CategoryRule, today: date) -> bool:
    max_points = sheet.rubric.criteria.certificates.max_points
    groups = category.required_certificates
    if not groups:
        sheet.award("certificates", max_points, max_points, f"no certificate required for {category.label_en.lower()}")
        return True
    held = valid_certificates(product, today)
    share, remainder = divmod(max_points, len(groups))
    points, missing = 0, []
    for index, group in enumerate(groups):
        if held & set(group):
            points += share + (remainder if index == len(groups) - 1 else 0)
        else:
            missing.append(certificate_gap_code(group))
    detail = (
        "all required certificates valid"
        if not missing
        else "missing or expired: "
        + ", ".join(code.removeprefix("certificate.").replace("|", " or ") for code in missing)
    )
    sheet.award("certificates", points, max_points, detail, missing)
    return not missing


def _capacity(sheet: _ScoreSheet, product: Product, category: CategoryRule) -> None:
    rule = sheet.rubric.criteria.capacity
    ratio = product.monthly_capacity / category.typical_monthly_order_units
    points = rule.max_points if ratio >= 1 else rule.partial_points if ratio >= rule.partial_ratio else 0
    sheet.award(
        "capacity",
        points,
        rule.max_points,
        f"{product.monthly_capacity} per month against a typical order of {category.typical_monthly_order_units}",
        [] if points == rule.max_points else ["capacity.below_typical_order"],
    )


def _packaging(sheet: _ScoreSheet, product: Product) -> None:
    max_points = sheet.rubric.criteria.packaging.max_points
    sheet.award(
        "packaging",
        max_points if product.english_label else 0,
        max_points,
        "English label on the packaging" if product.english_label else "no English label",
        [] if product.english_label else ["packaging.no_english_label"],
    )


def _export_pricing(sheet: _ScoreSheet, product: Product, category: CategoryRule) -> None:
    max_points = sheet.rubric.criteria.export_pricing.max_points
    ceiling = category.max_export_unit_price_idr
    fits = product.unit_price_idr <= ceiling
    sheet.award(
        "export_pricing",
        max_points if fits else 0,
        max_points,
        f"Rp{product.unit_price_idr:,} per {product.unit} against at most Rp{ceiling:,}",
        [] if fits else ["export_pricing.above_market"],
    )


def _marketplace(sheet: _ScoreSheet, msme: Msme) -> None:
    rule = sheet.rubric.criteria.marketplace
    points = min(rule.max_points, rule.points_per_listing * len(msme.listings))
    sheet.award(
        "marketplace",
        points,
        rule.max_points,
        f"{len(msme.listings)} marketplace listing(s)",
        ["marketplace.no_listing"] if not msme.listings else [],
    )


def _track_record(sheet: _ScoreSheet, record: TrackRecord) -> None:
    rule = sheet.rubric.criteria.track_record
    if record.reports == 0:
        sheet.award("track_record", 0, rule.max_points, "no sales feedback yet", ["track_record.none"])
        return
    points = next(
        (
            band.points
            for band in (rule.good, rule.fair)
            if record.reports >= band.min_reports
            and record.average_rating >= band.min_average_rating
            and record.reorder_rate >= band.min_reorder_rate
        ),
        0,
    )
    detail = (
        f"{record.reports} report(s), average rating {record.average_rating:.1f}, "
        f"reorder rate {record.reorder_rate:.0%}"
    )
    sheet.award(
        "track_record", points, rule.max_points, detail, [] if points == rule.max_points else ["track_record.weak"]
    )


def best_score(msme: Msme, rubric: Rubric, today: date) -> tuple[Scored, dict[str, Scored]]:
    per_product = {p.product_id: score_product(msme, p, rubric, today) for p in msme.products}
    if not per_product:
        return score_product(msme, None, rubric, today), {}
    rank = {"siap": 2, "setengah": 1, "didorong": 0}
    best = max(per_product.values(), key=lambda s: (rank[s.tier], s.score))  # first listed wins a tie
    return best, per_product


def next_certificate_expiry(msme: Msme, now: datetime) -> datetime | None:
    """The next instant (UTC) at which a certificate stops counting: local midnight of its expiry date."""
    zone = ZoneInfo(msme.profile.timezone)
    instants = [
        datetime.combine(certificate.expires_on, time.min, zone).astimezone(UTC)
        for product in msme.products
        for certificate in product.certificates
    ]
    upcoming = [instant for instant in instants if instant > now]
    return min(upcoming) if upcoming else None


# --- operations -----------------------------------------------------------------------------


class Withdrawal(Model):
    reason: str = Field(min_length=3, max_length=300)


def delist_product(msme: Msme, product_id: str, reason: str, now: datetime, rubric: Rubric) -> Change:
    product = _existing_product(msme, product_id)
    events: list[EventData] = []
    if product.export_ready:
        events.append(
            ProductExportReadinessLost(
                product_id=product_id, msme_id=msme.msme_id, region=msme.region, reasons=[f"delisted: {reason}"]
            )
        )
    events.append(ProductDelisted(product_id=product_id, msme_id=msme.msme_id, region=msme.region, reason=reason))
    remaining = [p for p in msme.products if p.product_id != product_id]
    updated = _touch(msme.model_copy(update={"products": remaining}), now)
    return _reassess(Change(updated, events), "product_delisted", now, rubric)


def withdraw(msme: Msme, reason: str, now: datetime, rubric: Rubric) -> Change:
    events: list[EventData] = [
        ProductExportReadinessLost(
            product_id=p.product_id, msme_id=msme.msme_id, region=msme.region, reasons=[f"the UMKM withdrew: {reason}"]
        )
        for p in msme.products
        if p.export_ready
    ]
    products = [p.model_copy(update={"export_ready": False}) for p in msme.products]
    updated = _touch(
        msme.model_copy(update={"products": products, "withdrawn_at": now, "next_certificate_expiry": None}), now
    )
    return Change(updated, [*events, MsmeWithdrawn(msme_id=msme.msme_id, region=msme.region, reason=reason)])


def register(command: RegisterMsme, msme_id: str, now: datetime, rubric: Rubric) -> Change:
    profile = Profile(**command.model_dump())
    msme = Msme(msme_id=msme_id, registered_at=now, updated_at=now, profile=profile)
    events: list[EventData] = [
        MsmeRegistered(
            msme_id=msme_id,
            region=profile.region,
            business_name=profile.business_name,
            owner_name=profile.owner_name,
            nib=profile.nib,
            sector=profile.sector,
            kelurahan=profile.kelurahan,
            kecamatan=profile.kecamatan,
            preferred_language=profile.preferred_language,
        ),
        _contact_changed(msme),
    ]
    return _reassess(Change(msme, events), "registered", now, rubric)


def update_profile(msme: Msme, command: UpdateMsme, now: datetime, rubric: Rubric) -> Change:
    changes = command.model_dump(exclude_unset=True)
    changed = sorted(name for name, value in changes.items() if getattr(msme.profile, name) != value)
    if not changed:
        return Change(msme)
    updated = _touch(msme.model_copy(update={"profile": msme.profile.model_copy(update=changes)}), now)
    events: list[EventData] = []
    contact_fields = {"owner_name", "whatsapp", "email", "preferred_language"}
    if public := [name for name in changed if name not in {"whatsapp", "email"}]:
        events.append(_msme_updated(updated, public))
    if contact_fields & set(changed):
        events.append(_contact_changed(updated))
    return _reassess(Change(updated, events), "profile_updated", now, rubric)


def verify_nib(msme: Msme, now: datetime, rubric: Rubric) -> Change:
    if msme.nib_verified:
        return Change(msme)
    updated = _touch(msme.model_copy(update={"nib_verified": True}), now)
    return _reassess(Change(updated, [_msme_updated(updated, ["nib_verified"])]), "nib_verified", now, rubric)


def list_product(msme: Msme, command: ListProduct, product_id: str, now: datetime, rubric: Rubric) -> Change:
    if command.category not in rubric.categories:
        raise Invalid(
            f"unknown category {command.category}; known: {', '.join(sorted(rubric.categories))}", field="category"
        )
    product = Product(product_id=product_id, listed_at=now, **command.model_dump())
    updated = _touch(msme.model_copy(update={"products": [*msme.products, product]}), now)
    return _reassess(Change(updated, [ProductListed(product=_facts(updated, product))]), "product_listed", now, rubric)


def update_product(msme: Msme, product_id: str, command: UpdateProduct, now: datetime, rubric: Rubric) -> Change:
    product = _existing_product(msme, product_id)
    changes = command.model_dump(exclude_unset=True)
    changed = sorted(name for name, value in changes.items() if getattr(product, name) != value)
    if not changed:
        return Change(msme)
    return _replace_product(msme, product.model_copy(update=changes), changed, "product_updated", now, rubric)


def add_certificate(msme: Msme, product_id: str, command: AddCertificate, now: datetime, rubric: Rubric) -> Change:
    product = _existing_product(msme, product_id)
    if command.expires_on <= local_today(now, msme.profile.timezone):
        raise Invalid(f"certificate expired on {command.expires_on}", field="expires_on")
    certificate = Certificate(**command.model_dump())
    if certificate in product.certificates:
        return Change(msme)
    kept = [c for c in product.certificates if c.kind != certificate.kind]
    updated = product.model_copy(update={"certificates": [*kept, certificate]})
    return _replace_product(msme, updated, ["certificates"], f"certificate_added:{certificate.kind}", now, rubric)


def remove_certificate(msme: Msme, product_id: str, kind: str, now: datetime, rubric: Rubric) -> Change:
    product = _existing_product(msme, product_id)
    kept = [c for c in product.certificates if c.kind != kind]
    if len(kept) == len(product.certificates):
        raise LookupError(f"product {product_id} holds no {kind} certificate")
    updated = product.model_copy(update={"certificates": kept})
    return _replace_product(msme, updated, ["certificates"], f"certificate_removed:{kind}", now, rubric)


def add_listing(msme: Msme, command: AddListing, now: datetime, rubric: Rubric) -> Change:
    url = str(command.url)
    if any(listing.url == url for listing in msme.listings):
        raise NotAllowed(f"listing {url} is already registered", field="url")
    listing = Listing(platform=command.platform, url=url, added_at=now)
    updated = _touch(msme.model_copy(update={"listings": [*msme.listings, listing]}), now)
    return _reassess(Change(updated), "marketplace_listing_added", now, rubric)


def record_sales(msme: Msme, report: SalesReported, now: datetime, rubric: Rubric) -> Change | None:
    """Applies one sales report to the track record; a report seen before changes nothing (None)."""
    if report.report_id in msme.applied_report_ids:
        return None
    record = msme.track_record
    revenue = dict(record.revenue_minor_units)
    revenue[report.revenue_currency] = revenue.get(report.revenue_currency, 0) + report.revenue_amount
    track = TrackRecord(
        reports=record.reports + 1,
        units_sold=record.units_sold + report.units_sold,
        returns=record.returns + report.returns,
        rating_sum=record.rating_sum + report.rating,
        reorder_intents=record.reorder_intents + int(report.will_reorder),
        revenue_minor_units=revenue,
    )
    applied = [*msme.applied_report_ids, report.report_id][-500:]
    updated = _touch(msme.model_copy(update={"track_record": track, "applied_report_ids": applied}), now)
    return _reassess(Change(updated), "sales_reported", now, rubric)


def expire_certificates(msme: Msme, now: datetime, rubric: Rubric) -> Change:
    return _reassess(Change(_touch(msme, now)), "certificate_expired", now, rubric)


def enrol(msme: Msme, cohort: Cohort, now: datetime, rubric: Rubric) -> Change:
    if msme.region != cohort.region:
        raise NotAllowed(f"cohort {cohort.cohort_id} is for {cohort.region}, the UMKM is in {msme.region}")
    if msme.incubation and not msme.incubation.graduated_at:
        raise NotAllowed(f"already enrolled in cohort {msme.incubation.cohort_id}")
    if msme.assessment is None or msme.assessment.tier == "siap":
        raise NotAllowed("only setengah and didorong UMKM can be enrolled; this one is siap")
    milestones, seen = [], set()
    for gap in msme.assessment.gaps:
        spec = rubric.milestone_for(gap.code)
        if spec.code not in seen:
            seen.add(spec.code)
            milestones.append(MilestoneProgress(gap_code=gap.code, **spec.model_dump()))
    enrollment = Enrollment(
        cohort_id=cohort.cohort_id,
        cohort_name=cohort.name,
        enrolled_at=now,
        tier_at_enrolment=msme.assessment.tier,
        milestones=milestones,
    )
    updated = _touch(msme.model_copy(update={"incubation": enrollment}), now)
    event = IncubationEnrolled(
        msme_id=msme.msme_id,
        region=msme.region,
        cohort_id=cohort.cohort_id,
        cohort_name=cohort.name,
        tier_at_enrolment=enrollment.tier_at_enrolment,
        milestones=[m.as_milestone() for m in milestones],
    )
    return Change(updated, [event])


def complete_milestone(msme: Msme, code: str, now: datetime, rubric: Rubric) -> Change:
    enrollment = msme.incubation
    if enrollment is None or enrollment.graduated_at:
        raise NotAllowed("the UMKM is not in an incubation cohort")
    milestone = next((m for m in enrollment.milestones if m.code == code), None)
    if milestone is None:
        raise LookupError(f"cohort milestones are {[m.code for m in enrollment.milestones]}, not {code}")
    if milestone.completed_at:
        raise NotAllowed(f"milestone {code} was completed on {milestone.completed_at:%Y-%m-%d}")
    change = _complete(Change(msme), milestone.code, "operator", now)
    return _reassess(change, f"milestone_completed:{code}", now, rubric)


# --- helpers --------------------------------------------------------------------------------


def _existing_product(msme: Msme, product_id: str) -> Product:
    try:
        return msme.product(product_id)
    except LookupError:
        raise LookupError(f"UMKM {msme.msme_id} has no product {product_id}") from None


def _touch(msme: Msme, now: datetime) -> Msme:
    return msme.model_copy(update={"updated_at": now})


def _replace_product(
    msme: Msme, product: Product, changed: list[str], trigger: str, now: datetime, rubric: Rubric
) -> Change:
    products = [product if p.product_id == product.product_id else p for p in msme.products]
    updated = _touch(msme.model_copy(update={"products": products}), now)
    event = ProductUpdated(product=_facts(updated, product), changed_fields=changed)
    return _reassess(Change(updated, [event]), trigger, now, rubric)


def _facts(msme: Msme, product: Product) -> ProductFacts:
    return ProductFacts(
        msme_id=msme.msme_id,
        region=msme.region,
        **product.model_dump(include=set(ProductFacts.model_fields) - {"msme_id", "region"}),
    )


def _msme_updated(msme: Msme, changed: list[str]) -> MsmeUpdated:
    p = msme.profile
    return MsmeUpdated(
        msme_id=msme.msme_id,
        region=p.region,
        business_name=p.business_name,
        sector=p.sector,
        kelurahan=p.kelurahan,
        kecamatan=p.kecamatan,
        preferred_language=p.preferred_language,
        nib_verified=msme.nib_verified,
        changed_fields=changed,
    )


def _contact_changed(msme: Msme) -> MsmeContactChanged:
    p = msme.profile
    return MsmeContactChanged(
        msme_id=msme.msme_id,
        region=p.region,
        owner_name=p.owner_name,
        whatsapp=p.whatsapp,
        email=p.email,
        preferred_language=p.preferred_language,
        timezone=p.timezone,
    )


def _complete(change: Change, code: str, by: Literal["operator", "evidence"], now: datetime) -> Change:
    enrollment = change.msme.incubation
    assert enrollment is not None
    milestones = [
        m.model_copy(update={"completed_at": now, "completed_by": by}) if m.code == code else m
        for m in enrollment.milestones
    ]
    done = next(m for m in milestones if m.code == code)
    remaining = sum(1 for m in milestones if m.completed_at is None)
    msme = change.msme.model_copy(update={"incubation": enrollment.model_copy(update={"milestones": milestones})})
    event = IncubationMilestoneCompleted(
        msme_id=msme.msme_id,
        region=msme.region,
        cohort_id=enrollment.cohort_id,
        milestone=done.as_milestone(),
        completed_by=by,
        remaining=remaining,
    )
    return Change(msme, [*change.events, event], change.new_assessment)


def _reassess(change: Change, trigger: str, now: datetime, rubric: Rubric) -> Change:
    msme = change.msme
    today = local_today(now, msme.profile.timezone)
    best, per_product = best_score(msme, rubric, today)
    events = list(change.events)
    previous = msme.assessment

    products = []
    for product in msme.products:
        scored = per_product[product.product_id]
        ready = scored.tier == "siap"
        if ready and not product.export_ready:
            events.append(ProductExportReady(product=_facts(msme, product), score=scored.score))
        elif product.export_ready and not ready:
            events.append(
                ProductExportReadinessLost(
                    product_id=product.product_id,
                    msme_id=msme.msme_id,
                    region=msme.region,
                    reasons=[gap.next_step_en for gap in scored.gaps if gap.criterion == "certificates"]
                    or [f"tier is now {scored.tier}"],
                )
            )
        products.append(product.model_copy(update={"score": scored.score, "tier": scored.tier, "export_ready": ready}))
    msme = msme.model_copy(update={"products": products, "next_certificate_expiry": next_certificate_expiry(msme, now)})

    new_assessment = change.new_assessment
    unchanged = previous is not None and _readiness(
        previous.score, previous.tier, previous.gaps, previous.criteria
    ) == (_readiness(best.score, best.tier, best.gaps, best.criteria))
    if unchanged and previous is not None and previous.criteria != best.criteria:
        # Same readiness in new words (a new price, say): refresh the wording without an event or history entry.
        msme = msme.model_copy(update={"assessment": previous.model_copy(update={"criteria": best.criteria})})
    elif not unchanged:
        new_assessment = Assessment(
            score=best.score,
            tier=best.tier,
            gaps=best.gaps,
            criteria=best.criteria,
            best_product_id=best.product_id,
            assessed_at=now,
            trigger=trigger,
        )
        msme = msme.model_copy(update={"assessment": new_assessment})
        events.append(
            ReadinessAssessed(
                msme_id=msme.msme_id,
                region=msme.region,
                score=best.score,
                tier=best.tier,
                previous_tier=previous.tier if previous else None,
                gaps=best.gaps,
                criteria=best.criteria,
                best_product_id=best.product_id,
                trigger=trigger,
            )
        )

    change = Change(msme, events, new_assessment)
    return _progress_incubation(change, best, now)


def _progress_incubation(change: Change, best: Scored, now: datetime) -> Change:
    enrollment = change.msme.incubation
    if enrollment is None or enrollment.graduated_at:
        return change
    open_gaps = {gap.code for gap in best.gaps}
    for milestone in enrollment.milestones:
        if milestone.completed_at is None and milestone.gap_code not in open_gaps:
            change = _complete(change, milestone.code, "evidence", now)
    if best.tier == "siap":
        enrollment = change.msme.incubation
        assert enrollment is not None
        graduated = enrollment.model_copy(update={"graduated_at": now})
        msme = change.msme.model_copy(update={"incubation": graduated})
        event = IncubationGraduated(
            msme_id=msme.msme_id,
            region=msme.region,
            cohort_id=enrollment.cohort_id,
            score=best.score,
            days_in_incubation=(now - enrollment.enrolled_at).days,
        )
        change = Change(msme, [*change.events, event], change.new_assessment)
    return change


def _readiness(score: int, tier: Tier, gaps: list[Gap], criteria: list[CriterionScore]) -> tuple:
    """What makes readiness differ: score, tier, gaps and points per criterion, not their wording."""
    return score, tier, gaps, [(c.criterion, c.points) for c in criteria]
