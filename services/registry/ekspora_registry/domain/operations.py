"""Profile and product operations: each returns the new state and the events it causes."""

from datetime import datetime

from ekspora_contracts.envelope import EventData
from ekspora_contracts.matching import OpportunitiesChanged, SalesReported
from ekspora_contracts.registry import (
    CertificateEvidenceRejected,
    CertificateExpiring,
    MsmeRegistered,
    MsmeWithdrawn,
    ProductDelisted,
    ProductExportReadinessLost,
    ProductListed,
    ProductUpdated,
)
from ekspora_kit.domain import Invalid, NotAllowed, NotFound
from ekspora_registry.domain.commands import (
    AddCertificate,
    AddListing,
    ListProduct,
    RegisterMsme,
    ReviewEvidence,
    UpdateMsme,
    UpdateProduct,
)
from ekspora_registry.domain.events import contact_changed_event, msme_updated, product_facts, supplier_changed
from ekspora_registry.domain.incubation import session_reminders
from ekspora_registry.domain.model import (
    Change,
    Evidence,
    HeldCertificate,
    Listing,
    Marketplace,
    Msme,
    PlatformSales,
    Product,
    Profile,
    TrackRecord,
    touched,
)
from ekspora_registry.domain.readiness import local_today, reassess
from ekspora_registry.policy import Rubric


def delist_product(msme: Msme, product_id: str, reason: str, now: datetime, rubric: Rubric) -> Change:
    product = msme.product(product_id)
    events: list[EventData] = []
    if product.export_ready:
        events.append(
            ProductExportReadinessLost(
                product_id=product_id, msme_id=msme.msme_id, region=msme.region, reasons=[f"delisted: {reason}"]
            )
        )
    events.append(ProductDelisted(product_id=product_id, msme_id=msme.msme_id, region=msme.region, reason=reason))
    remaining = [p for p in msme.products if p.product_id != product_id]
    updated = touched(msme.model_copy(update={"products": remaining}), now)
    return reassess(Change(updated, events), "product_delisted", now, rubric)


def withdraw(msme: Msme, reason: str, now: datetime, rubric: Rubric) -> Change:
    events: list[EventData] = [
        ProductExportReadinessLost(
            product_id=p.product_id, msme_id=msme.msme_id, region=msme.region, reasons=[f"the UMKM withdrew: {reason}"]
        )
        for p in msme.products
        if p.export_ready
    ]
    products = [p.model_copy(update={"export_ready": False}) for p in msme.products]
    updated = touched(
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
            sector=profile.sector,
            kelurahan=profile.kelurahan,
            kecamatan=profile.kecamatan,
            preferred_language=profile.preferred_language,
        ),
        contact_changed_event(msme),
        supplier_changed(msme),
    ]
    return reassess(Change(msme, events), "registered", now, rubric)


def update_profile(msme: Msme, command: UpdateMsme, now: datetime, rubric: Rubric) -> Change:
    changes = command.model_dump(exclude_unset=True)
    changed = sorted(name for name, value in changes.items() if getattr(msme.profile, name) != value)
    if not changed:
        return Change(msme)
    updated = touched(msme.model_copy(update={"profile": msme.profile.model_copy(update=changes)}), now)
    events: list[EventData] = []
    contact_fields = {"owner_name", "whatsapp", "email", "preferred_language"}
    if public := [name for name in changed if name not in {"whatsapp", "email"}]:
        events.append(msme_updated(updated, public))
    if contact_fields & set(changed):
        events.append(contact_changed_event(updated))
    if {"business_name", "kelurahan", "kecamatan"} & set(changed):
        events.append(supplier_changed(updated))
    return reassess(Change(updated, events), "profile_updated", now, rubric)


def verify_nib(msme: Msme, now: datetime, rubric: Rubric) -> Change:
    if msme.nib_verified:
        return Change(msme)
    updated = touched(msme.model_copy(update={"nib_verified": True}), now)
    events: list[EventData] = [msme_updated(updated, ["nib_verified"]), supplier_changed(updated)]
    return reassess(Change(updated, events), "nib_verified", now, rubric)


def list_product(msme: Msme, command: ListProduct, product_id: str, now: datetime, rubric: Rubric) -> Change:
    if command.category not in rubric.categories:
        raise Invalid(
            f"unknown category {command.category}; known: {', '.join(sorted(rubric.categories))}", field="category"
        )
    refuse_taken_name(msme, command.name)
    product = Product(product_id=product_id, listed_at=now, **command.model_dump())
    updated = touched(msme.model_copy(update={"products": [*msme.products, product]}), now)
    return reassess(
        Change(updated, [ProductListed(product=product_facts(updated, product))]), "product_listed", now, rubric
    )


def refuse_taken_name(msme: Msme, name: str, product_id: str | None = None) -> None:
    """One product per name in an UMKM's catalogue: a buyer could not tell two apart, and a client
    that repeats a listing whose answer it lost finds the first one instead of listing it twice."""
    wanted = " ".join(name.casefold().split())
    taken = next((p for p in msme.products if " ".join(p.name.casefold().split()) == wanted), None)
    if taken and taken.product_id != product_id:
        raise NotAllowed(f"this UMKM already lists {taken.name} as {taken.product_id}", field="name")


def update_product(msme: Msme, product_id: str, command: UpdateProduct, now: datetime, rubric: Rubric) -> Change:
    product = msme.product(product_id)
    changes = command.model_dump(exclude_unset=True)
    if changes.get("name"):
        refuse_taken_name(msme, changes["name"], product_id)
    changed = sorted(name for name, value in changes.items() if getattr(product, name) != value)
    if not changed:
        return Change(msme)
    return replace_product(msme, product.model_copy(update=changes), changed, "product_updated", now, rubric)


def add_certificate(msme: Msme, product_id: str, command: AddCertificate, now: datetime, rubric: Rubric) -> Change:
    product = msme.product(product_id)
    if command.expires_on <= local_today(now, msme.profile.timezone):
        raise Invalid(f"certificate expired on {command.expires_on}", field="expires_on")
    certificate = HeldCertificate(**command.model_dump())
    if any(held.as_contract() == certificate.as_contract() for held in product.certificates):
        return Change(msme)  # the same certificate again keeps its evidence; a renewal needs its own
    kept = [c for c in product.certificates if c.kind != certificate.kind]
    updated = product.model_copy(update={"certificates": [*kept, certificate]})
    return replace_product(msme, updated, ["certificates"], f"certificate_added:{certificate.kind}", now, rubric)


def remove_certificate(msme: Msme, product_id: str, kind: str, now: datetime, rubric: Rubric) -> Change:
    product = msme.product(product_id)
    kept = [c for c in product.certificates if c.kind != kind]
    if len(kept) == len(product.certificates):
        raise NotFound(f"product {product_id} holds no {kind} certificate")
    updated = product.model_copy(update={"certificates": kept})
    return replace_product(msme, updated, ["certificates"], f"certificate_removed:{kind}", now, rubric)


def _held(product: Product, kind: str) -> HeldCertificate:
    certificate = next((c for c in product.certificates if c.kind == kind), None)
    if certificate is None:
        raise NotFound(f"product {product.product_id} holds no {kind} certificate")
    return certificate


def _with_certificate(product: Product, certificate: HeldCertificate) -> Product:
    return product.model_copy(
        update={"certificates": [certificate if c.kind == certificate.kind else c for c in product.certificates]}
    )


def attach_evidence(
    msme: Msme, product_id: str, kind: str, evidence: Evidence, now: datetime, rubric: Rubric
) -> Change:
    """A scan of the certificate, to be verified before the certificate counts. The same scan again
    changes nothing; another one replaces it and waits for its own review."""
    product = msme.product(product_id)
    held = _held(product, kind)
    if held.evidence and held.evidence.sha256 == evidence.sha256 and held.evidence.status != "rejected":
        return Change(msme)
    updated = _with_certificate(product, held.model_copy(update={"evidence": evidence}))
    return replace_product(msme, updated, ["certificates"], f"certificate_evidence_uploaded:{kind}", now, rubric)


def review_evidence(
    msme: Msme, product_id: str, kind: str, command: ReviewEvidence, by: str, now: datetime, rubric: Rubric
) -> Change:
    product = msme.product(product_id)
    held = _held(product, kind)
    if held.evidence is None:
        raise NotAllowed(f"the {kind} certificate has no evidence yet: upload its scan first")
    if held.evidence.status == command.status:
        return Change(msme)
    review = {"status": command.status, "reviewed_by": by, "reviewed_at": now, "rejected_reason": command.reason}
    updated = _with_certificate(product, held.model_copy(update={"evidence": held.evidence.model_copy(update=review)}))
    trigger = f"certificate_evidence_{command.status}:{kind}"
    change = replace_product(msme, updated, ["certificates"], trigger, now, rubric)
    if command.status == "rejected":
        rejected = CertificateEvidenceRejected(
            msme_id=msme.msme_id,
            region=msme.region,
            product_id=product_id,
            product_name=product.name,
            kind=held.kind,
            reason=str(command.reason),
        )
        change = Change(change.msme, [*change.events, rejected], change.new_assessment)
    return change


def add_listing(msme: Msme, command: AddListing, now: datetime, rubric: Rubric) -> Change:
    url = str(command.url)
    if any(listing.url == url for listing in msme.listings):
        raise NotAllowed(f"listing {url} is already registered", field="url")
    listing = Listing(platform=command.platform, url=url, added_at=now)
    updated = touched(msme.model_copy(update={"listings": [*msme.listings, listing]}), now)
    return reassess(Change(updated), "marketplace_listing_added", now, rubric)


def record_marketplace_sales(
    msme: Msme, platform: Marketplace, totals: PlatformSales, now: datetime, rubric: Rubric
) -> Change:
    """The UMKM's sales on a marketplace, as all its imported order lines add up to now: the totals
    are recounted from the lines, so an import repeated after a crash sets the same figures."""
    if not any(listing.platform == platform for listing in msme.listings):
        raise NotAllowed(f"add the UMKM's {platform} listing before importing its sales", field="platform")
    sales = {**msme.marketplace_sales, platform: totals}
    updated = touched(msme.model_copy(update={"marketplace_sales": sales}), now)
    return reassess(Change(updated), f"marketplace_sales_imported:{platform}", now, rubric)


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
        repeat_orders=record.repeat_orders + int(report.repeat_order),
        revenue_minor_units=revenue,
    )
    applied = [*msme.applied_report_ids, report.report_id][-500:]
    updated = touched(msme.model_copy(update={"track_record": track, "applied_report_ids": applied}), now)
    return reassess(Change(updated), "sales_reported", now, rubric)


def record_opportunities(
    msme: Msme, changed: OpportunitiesChanged, at: datetime, now: datetime, rubric: Rubric
) -> Change | None:
    """What matching found each gap of a product keeps it from; an older finding (or one about a
    product since delisted) changes nothing."""
    if not any(p.product_id == changed.product_id for p in msme.products):
        return None
    product = msme.product(changed.product_id)
    if product.opportunities_at is not None and at <= product.opportunities_at:
        return None
    found = {"once_ready": changed.once_ready, "unlocked": changed.opportunities, "opportunities_at": at}
    products = [p.model_copy(update=found) if p.product_id == product.product_id else p for p in msme.products]
    return reassess(Change(msme.model_copy(update={"products": products})), "opportunities_changed", now, rubric)


def certificate_moments(msme: Msme, now: datetime, rubric: Rubric) -> Change:
    """What the clock does: owners warned before a certificate expires (each warning once, the nearest
    one only when several are due at once), readiness reassessed as certificates expire, and members
    reminded of their coming incubation sessions."""
    today = local_today(now, msme.profile.timezone)
    thresholds = sorted(rubric.certificate_warnings.days_before)
    events: list[EventData] = []
    products = []
    for product in msme.products:
        certificates = []
        for held in product.certificates:
            days_left = (held.expires_on - today).days
            due = [days for days in thresholds if 0 < days_left <= days and days not in held.warned_days]
            certificate = held
            if due:
                renewal = rubric.certificate_warnings.renewal[certificate.kind]
                events.append(
                    CertificateExpiring(
                        msme_id=msme.msme_id,
                        region=msme.region,
                        product_id=product.product_id,
                        product_name=product.name,
                        kind=certificate.kind,
                        number=certificate.number,
                        expires_on=certificate.expires_on,
                        days_left=days_left,
                        warning=due[0],
                        renewal_id=renewal.id,
                        renewal_en=renewal.en,
                    )
                )
                certificate = certificate.model_copy(update={"warned_days": sorted({*certificate.warned_days, *due})})
            certificates.append(certificate)
        products.append(product.model_copy(update={"certificates": certificates}))
    reminded, coming = session_reminders(msme.model_copy(update={"products": products}), now, rubric)
    return reassess(Change(touched(reminded, now), [*events, *coming]), "certificate_expired", now, rubric)


def replace_product(
    msme: Msme, product: Product, changed: list[str], trigger: str, now: datetime, rubric: Rubric
) -> Change:
    products = [product if p.product_id == product.product_id else p for p in msme.products]
    updated = touched(msme.model_copy(update={"products": products}), now)
    facts = product_facts(updated, product)
    unseen = facts == product_facts(msme, msme.product(product.product_id))  # e.g. a scan not yet verified
    events: list[EventData] = [] if unseen else [ProductUpdated(product=facts, changed_fields=changed)]
    return reassess(Change(updated, events), trigger, now, rubric)
