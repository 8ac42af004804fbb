"""Registry operations: which events each change emits, and only when something really changed."""

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from ekspora_contracts.matching import OpportunitiesChanged, SalesReported
from ekspora_contracts.registry import (
    Amount,
    CertificateEvidenceRejected,
    CertificateExpiring,
    IncubationEnrolled,
    IncubationGraduated,
    IncubationMilestoneCompleted,
    IncubationSession,
    IncubationSessionComing,
    IncubationSessionScheduled,
    MsmeContactChanged,
    MsmeRegistered,
    MsmeUpdated,
    ProductAssessed,
    ProductExportReadinessLost,
    ProductExportReady,
    ProductListed,
    ProductUpdated,
    ReadinessAssessed,
    ReadinessAssessedV1,
    SupplierChanged,
    UnlockedDemand,
)
from ekspora_kit.clock import WIB
from ekspora_kit.domain import Invalid, NotAllowed, NotFound
from ekspora_registry import domain
from ekspora_registry.domain import funnel
from ekspora_registry.policy import load_rubric
from tests.factories import VALID_REGISTRATION

RUBRIC = load_rubric()
NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
TAHU = domain.ListProduct(
    name="Tahu Takwa",
    description_id="Tahu kuning khas Kediri",
    description_en="Kediri yellow tofu",
    category="processed_food",
    hs_code="21069099",
    unit="pack 500 g",
    unit_price_idr=25_000,
    minimum_order_quantity=50,
    monthly_capacity=1_200,
    net_weight_grams=500,
    shelf_life_days=30,
    english_label=True,
)


def types(change: domain.Change) -> list[type]:
    return [type(event) for event in change.events]


def registered() -> domain.Msme:
    return domain.register(domain.RegisterMsme.model_validate(VALID_REGISTRATION), "msme-1", NOW, RUBRIC).msme


def scan(n: int = 1) -> domain.Evidence:
    return domain.Evidence(
        sha256=f"{n:064x}",
        filename="scan.pdf",
        content_type="application/pdf",
        size=900,
        uploaded_at=NOW,
        uploaded_by="op",
    )


VERIFIED = domain.ReviewEvidence(status="verified")


def certify(msme: domain.Msme, certificate: domain.AddCertificate, now: datetime = NOW) -> domain.Change:
    """Adds the certificate, uploads its scan and verifies it: the change the verification makes."""
    msme = domain.add_certificate(msme, "prd-1", certificate, now, RUBRIC).msme
    msme = domain.attach_evidence(msme, "prd-1", certificate.kind, scan(), now, RUBRIC).msme
    return domain.review_evidence(msme, "prd-1", certificate.kind, VERIFIED, "op", now, RUBRIC)


SHOPEE_SALES = domain.PlatformSales(
    orders=4,
    units=40,
    revenue_idr=1_000_000,
    first_sale_on=date(2026, 11, 1),
    last_sale_on=date(2026, 11, 20),
    imported_at=NOW,
)


def setengah_with_pirt() -> domain.Msme:
    """Verified, listed twice with its Shopee sales imported, tahu with SPP-IRT but no halal
    certificate: 75, yet setengah (halal missing)."""
    msme = registered()
    msme = domain.verify_nib(msme, NOW, RUBRIC).msme
    msme = domain.list_product(msme, TAHU, "prd-1", NOW, RUBRIC).msme
    for n in range(2):
        listing = domain.AddListing.model_validate({"platform": "shopee", "url": f"https://shopee.co.id/tahu{n}"})
        msme = domain.add_listing(msme, listing, NOW, RUBRIC).msme
    msme = domain.record_marketplace_sales(msme, "shopee", SHOPEE_SALES, NOW, RUBRIC).msme
    pirt = domain.AddCertificate(kind="pirt", number="P-IRT 2063571010123-28", expires_on=date(2028, 5, 1))
    return certify(msme, pirt).msme


HALAL = domain.AddCertificate(kind="halal", number="ID35110000123450823", expires_on=date(2027, 3, 1))


def test_registration_emits_the_public_event_the_private_contact_and_supplier_and_the_first_assessment():
    change = domain.register(domain.RegisterMsme(**VALID_REGISTRATION), "msme-1", NOW, RUBRIC)
    assert types(change) == [
        MsmeRegistered,
        MsmeContactChanged,
        SupplierChanged,
        ReadinessAssessedV1,
        ReadinessAssessed,
    ]
    public = change.events[0].model_dump_json() + change.events[3].model_dump_json()
    assert "+6281234500001" not in public and "tini@tahutakwa.id" not in public
    assert VALID_REGISTRATION["nib"] not in public, "the NIB travels only to shipping"
    assert change.events[1].whatsapp == "+6281234500001"
    supplier = change.events[2]
    assert (supplier.nib, supplier.nib_verified) == (VALID_REGISTRATION["nib"], False)
    assert "+6281234500001" not in supplier.model_dump_json(), "the supplier record carries no contact"
    assert (change.msme.tier, change.new_assessment.trigger) == ("didorong", "registered")


def test_verifying_the_nib_tells_shipping_and_a_new_name_too_but_not_a_new_phone():
    msme = domain.register(domain.RegisterMsme(**VALID_REGISTRATION), "msme-1", NOW, RUBRIC).msme
    verified = domain.verify_nib(msme, NOW, RUBRIC)
    assert [e.nib_verified for e in verified.events if isinstance(e, SupplierChanged)] == [True]
    renamed = domain.update_profile(verified.msme, domain.UpdateMsme(business_name="Tahu Takwa Tini"), NOW, RUBRIC)
    assert [e.business_name for e in renamed.events if isinstance(e, SupplierChanged)] == ["Tahu Takwa Tini"]
    new_phone = domain.update_profile(verified.msme, domain.UpdateMsme(whatsapp="+6281234500002"), NOW, RUBRIC)
    assert not [e for e in new_phone.events if isinstance(e, SupplierChanged)]


def test_adding_the_missing_certificate_makes_the_product_export_ready_once_its_evidence_is_verified():
    msme = setengah_with_pirt()
    assert (msme.assessment.score, msme.tier) == (75, "setengah")
    added = domain.add_certificate(msme, "prd-1", HALAL, NOW, RUBRIC)
    assert types(added) == [] and added.msme.tier == "setengah", "a certificate without evidence: nothing to tell"
    uploaded = domain.attach_evidence(added.msme, "prd-1", "halal", scan(), NOW, RUBRIC)
    assert types(uploaded) == [] and uploaded.msme.tier == "setengah", "evidence not yet verified"
    assert "evidence not yet verified: halal" in uploaded.msme.assessment.criteria[1].detail
    change = domain.review_evidence(uploaded.msme, "prd-1", "halal", VERIFIED, "op", NOW, RUBRIC)
    assert types(change) == [
        ProductUpdated,
        ProductExportReady,
        ProductAssessed,
        ReadinessAssessedV1,
        ReadinessAssessed,
    ]
    assert change.msme.tier == "siap" and change.msme.products[0].export_ready
    ready = change.events[1]
    assert ready.product.category == "processed_food" and ready.score == 90
    assert {c.kind for c in ready.product.certificates} == {"pirt", "halal"}

    again = domain.add_certificate(change.msme, "prd-1", HALAL, NOW, RUBRIC)
    assert again.events == [], "the same certificate again changes nothing"
    later = domain.update_product(change.msme, "prd-1", domain.UpdateProduct(unit_price_idr=27_000), NOW, RUBRIC)
    assert types(later) == [ProductUpdated], "an update of a ready product is no new readiness"


def test_losing_a_certificate_withdraws_export_readiness():
    msme = certify(setengah_with_pirt(), HALAL).msme
    change = domain.remove_certificate(msme, "prd-1", "halal", NOW, RUBRIC)
    assert types(change) == [
        ProductUpdated,
        ProductExportReadinessLost,
        ProductAssessed,
        ReadinessAssessedV1,
        ReadinessAssessed,
    ]
    assert change.events[1].reasons == ["Apply for a halal certificate with BPJPH"]
    assert (change.events[2].tier, change.events[2].gaps[0].code) == ("setengah", "certificate.halal")
    assert change.events[3].previous_tier == "siap" and change.events[3].tier == "setengah"


def test_a_certificate_warns_30_and_7_days_before_and_stops_counting_at_local_midnight_of_its_expiry():
    msme = certify(setengah_with_pirt(), HALAL).msme  # halal expires on 1 March 2027
    # 30 and 7 days before, then the day itself, each at 00:00 WIB (17:00 UTC the day before)
    moments = [datetime(2027, 1, 29, 17, tzinfo=UTC), datetime(2027, 2, 21, 17, tzinfo=UTC)]
    moments.append(datetime(2027, 2, 28, 17, tzinfo=UTC))
    happened = []
    for moment in moments:
        assert msme.next_certificate_expiry == moment
        assert domain.certificate_moments(msme, moment - timedelta(seconds=1), RUBRIC).events == []
        change = domain.certificate_moments(msme, moment, RUBRIC)
        assert domain.certificate_moments(change.msme, moment + timedelta(hours=23), RUBRIC).events == [], "once"
        happened.append(change.events)
        msme = change.msme
    warnings, last_warning, expired = happened
    assert [(w.warning, w.days_left, w.kind, w.expires_on) for w in warnings + last_warning] == [
        (30, 30, "halal", date(2027, 3, 1)),
        (7, 7, "halal", date(2027, 3, 1)),
    ]
    assert "SIHALAL" in warnings[0].renewal_id and "SIHALAL" in warnings[0].renewal_en
    assert [type(e) for e in expired] == [
        ProductExportReadinessLost,
        ProductAssessed,
        ReadinessAssessedV1,
        ReadinessAssessed,
    ]
    assert msme.tier == "setengah"
    assert msme.next_certificate_expiry == datetime(2028, 3, 31, 17, 0, tzinfo=UTC), "SPP-IRT's first warning"


# (case, days before expiry at each check, the warnings each check sends)
WARNINGS = [
    ("far ahead: one at 30, one at 7", [40, 30, 29, 8, 7, 6, 1], [[], [30], [], [], [7], [], []]),
    ("added with 20 days left: the 30-day one at once", [20, 19, 7], [[30], [], [7]]),
    ("added with 5 days left: only the nearest", [5, 4], [[7], []]),
    ("checked late after both fell due: one, the nearest", [40, 3], [[], [7]]),
    ("the day of expiry: none, it has expired", [0], [[]]),
]


@pytest.mark.parametrize(("case", "days_before", "sent"), WARNINGS)
def test_each_warning_goes_out_once_whenever_the_check_runs(case, days_before, sent):
    expires_on = date(2027, 6, 30)
    certificate = HALAL.model_copy(update={"expires_on": expires_on})
    msme = certify(setengah_with_pirt(), certificate, now=NOW).msme
    got = []
    for days in days_before:
        at = datetime.combine(expires_on - timedelta(days=days), datetime.min.time(), UTC) + timedelta(hours=5)
        if days and not got:  # as if it were added then: a warning already due is due at once
            msme = certify(setengah_with_pirt(), certificate, now=at).msme
            first_warning = datetime.combine(expires_on - timedelta(days=30), time.min, ZoneInfo(WIB)).astimezone(UTC)
            assert msme.next_certificate_expiry == max(first_warning, at)
        change = domain.certificate_moments(msme, at, RUBRIC)
        got.append([e.warning for e in change.events if isinstance(e, CertificateExpiring)])
        msme = change.msme
    assert got == sent, case


def test_a_renewed_certificate_is_warned_of_again_and_its_old_evidence_does_not_carry_over():
    msme = certify(setengah_with_pirt(), HALAL).msme
    warned = domain.certificate_moments(msme, datetime(2027, 2, 22, 0, tzinfo=UTC), RUBRIC).msme
    renewal = HALAL.model_copy(update={"number": "ID35110000123450999", "expires_on": date(2031, 3, 1)})
    renewed = domain.add_certificate(warned, "prd-1", renewal, NOW, RUBRIC).msme
    [halal] = [c for c in renewed.products[0].certificates if c.kind == "halal"]
    assert (halal.warned_days, halal.evidence, renewed.tier) == ([], None, "setengah")


def test_a_rejected_scan_tells_the_owner_why_and_the_certificate_does_not_count():
    msme = domain.add_certificate(setengah_with_pirt(), "prd-1", HALAL, NOW, RUBRIC).msme
    with pytest.raises(NotAllowed, match="upload its scan first"):
        domain.review_evidence(msme, "prd-1", "halal", VERIFIED, "op", NOW, RUBRIC)
    msme = domain.attach_evidence(msme, "prd-1", "halal", scan(1), NOW, RUBRIC).msme
    rejection = domain.ReviewEvidence(status="rejected", reason="Nomor sertifikat tidak terbaca")
    rejected = domain.review_evidence(msme, "prd-1", "halal", rejection, "op", NOW, RUBRIC)
    told = [e for e in rejected.events if isinstance(e, CertificateEvidenceRejected)]
    assert [(e.kind, e.reason, e.product_name) for e in told] == [
        ("halal", "Nomor sertifikat tidak terbaca", "Tahu Takwa")
    ]
    assert rejected.msme.tier == "setengah"
    again = domain.attach_evidence(rejected.msme, "prd-1", "halal", scan(1), NOW, RUBRIC)
    assert again.msme.products[0].certificates[-1].evidence.status == "uploaded", "the same scan may be sent again"
    verified = domain.review_evidence(again.msme, "prd-1", "halal", VERIFIED, "op", NOW, RUBRIC)
    assert verified.msme.tier == "siap"
    replaced = domain.attach_evidence(verified.msme, "prd-1", "halal", scan(2), NOW, RUBRIC)
    assert replaced.msme.tier == "setengah", "another scan waits for its own review"


def test_an_already_expired_certificate_is_refused():
    with pytest.raises(Invalid, match="expired"):
        domain.add_certificate(
            setengah_with_pirt(), "prd-1", HALAL.model_copy(update={"expires_on": date(2026, 11, 28)}), NOW, RUBRIC
        )


def report(report_id: str, rating: int = 5, reorder: bool = True) -> SalesReported:
    return SalesReported(
        report_id=report_id,
        match_id="mt-1",
        msme_id="msme-1",
        product_id="prd-1",
        partner_id="ptn-1",
        region="kota-kediri",
        units_sold=120,
        revenue_amount=54_000,
        revenue_currency="EUR",
        returns=2,
        rating=rating,
        comment="Laris",
        will_reorder=reorder,
        reported_at=NOW,
    )


def test_sales_feedback_builds_the_track_record_once_per_report():
    msme = certify(setengah_with_pirt(), HALAL).msme
    change = domain.record_sales(msme, report("r1"), NOW, RUBRIC)
    assert types(change) == [ProductAssessed, ReadinessAssessedV1, ReadinessAssessed]
    record = change.msme.track_record
    assert (record.reports, record.units_sold, record.returns, record.revenue_minor_units) == (
        1,
        120,
        2,
        {"EUR": 54_000},
    )
    assert change.msme.assessment.score == 100
    assert domain.record_sales(change.msme, report("r1"), NOW, RUBRIC) is None
    second = domain.record_sales(change.msme, report("r2", rating=4, reorder=False), NOW, RUBRIC)
    assert second.msme.track_record.reports == 2 and second.msme.track_record.reorder_rate == 0.5
    again = report("r3").model_copy(update={"repeat_order": True})
    repeated = domain.record_sales(second.msme, again, NOW, RUBRIC).msme.track_record
    assert (repeated.reports, repeated.repeat_orders, change.msme.track_record.repeat_orders) == (3, 1, 0)


def test_profile_changes_keep_contact_data_on_the_private_stream():
    change = domain.update_profile(
        registered(), domain.UpdateMsme(whatsapp="+6281299990000", kecamatan="Kota"), NOW, RUBRIC
    )
    assert types(change) == [MsmeUpdated, MsmeContactChanged, SupplierChanged]  # the address is on invoices
    assert change.events[0].changed_fields == ["kecamatan"]
    assert "+6281299990000" not in change.events[0].model_dump_json()
    assert domain.update_profile(change.msme, domain.UpdateMsme(kecamatan="Kota"), NOW, RUBRIC).events == []


def test_listing_a_product_of_an_unknown_category_is_refused():
    with pytest.raises(Invalid) as error:
        domain.list_product(registered(), TAHU.model_copy(update={"category": "jet_engines"}), "prd-1", NOW, RUBRIC)
    assert error.value.field == "category"


@pytest.mark.parametrize(
    "name",
    ["Tahu Takwa", "tahu takwa", "  TAHU   Takwa "],
)
def test_a_second_product_of_the_same_name_is_refused_naming_the_first(name):
    msme = domain.list_product(registered(), TAHU, "prd-1", NOW, RUBRIC).msme
    with pytest.raises(NotAllowed) as error:
        domain.list_product(msme, TAHU.model_copy(update={"name": name}), "prd-2", NOW, RUBRIC)
    assert error.value.field == "name" and "prd-1" in str(error.value)


def test_renaming_a_product_to_another_products_name_is_refused_and_to_its_own_is_not():
    msme = domain.list_product(registered(), TAHU, "prd-1", NOW, RUBRIC).msme
    msme = domain.list_product(msme, TAHU.model_copy(update={"name": "Stik Tahu Pedas"}), "prd-2", NOW, RUBRIC).msme
    with pytest.raises(NotAllowed):
        domain.update_product(msme, "prd-2", domain.UpdateProduct(name=TAHU.name), NOW, RUBRIC)
    kept = domain.update_product(msme, "prd-1", domain.UpdateProduct(name=TAHU.name.upper()), NOW, RUBRIC)
    assert kept.msme.product("prd-1").name == TAHU.name.upper()


COHORT = domain.Cohort(
    cohort_id="coh-1", region="kota-kediri", name="UMKM Kita Bisa 2026", starts_on=date(2026, 12, 1), created_at=NOW
)


def test_incubation_from_enrolment_to_graduation():
    msme = setengah_with_pirt()
    enrolled = domain.enrol(msme, COHORT, NOW, RUBRIC)
    assert types(enrolled) == [IncubationEnrolled]
    assert [m.code for m in enrolled.events[0].milestones] == ["halal_certification", "first_export_sales"]

    with pytest.raises(NotAllowed, match="already enrolled"):
        domain.enrol(enrolled.msme, COHORT, NOW, RUBRIC)
    sold = domain.Witnessed(recorded_by="person:psn-0123456789abcdef", note="first 200 packs sold in Amsterdam")
    training = domain.complete_milestone(enrolled.msme, "first_export_sales", sold, NOW, RUBRIC)
    assert types(training) == [IncubationMilestoneCompleted]
    assert training.events[0].completed_by == "operator" and training.events[0].remaining == 1
    recorded = training.msme.incubation.milestones[1]
    assert (recorded.recorded_by, recorded.note) == (sold.recorded_by, sold.note)
    assert domain.complete_milestone(training.msme, "first_export_sales", sold, NOW, RUBRIC) is None, "a retry"
    with pytest.raises(NotAllowed, match="was completed on"):
        other = sold.model_copy(update={"note": "sold in Rotterdam"})
        domain.complete_milestone(training.msme, "first_export_sales", other, NOW, RUBRIC)

    later = NOW + timedelta(days=40)
    graduated = certify(training.msme, HALAL, later)
    assert types(graduated) == [
        ProductUpdated,
        ProductExportReady,
        ProductAssessed,
        ReadinessAssessedV1,
        ReadinessAssessed,
        IncubationMilestoneCompleted,
        IncubationGraduated,
    ]
    assert graduated.events[5].completed_by == "evidence"
    assert graduated.events[6].days_in_incubation == 40
    assert graduated.msme.incubation.graduated_at == later


def test_only_setengah_and_didorong_can_be_enrolled():
    ready = certify(setengah_with_pirt(), HALAL).msme
    with pytest.raises(NotAllowed, match="siap"):
        domain.enrol(ready, COHORT, NOW, RUBRIC)
    with pytest.raises(NotAllowed, match="blitar"):
        domain.enrol(setengah_with_pirt(), COHORT.model_copy(update={"region": "blitar"}), NOW, RUBRIC)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("nib", "12345"),
        ("nib", "12345678901234"),
        ("nib", "12345678901a3"),
        ("whatsapp", "081234567890"),
        ("whatsapp", "+62 812"),
        ("email", "not-an-email"),
        ("sector", "weapons"),
        ("region", "Kota Kediri"),
        ("business_name", "X"),
        ("timezone", "Mars/Olympus"),
    ],
)
def test_invalid_registrations_are_refused_with_the_field_named(field, value):
    with pytest.raises(ValidationError) as error:
        domain.RegisterMsme(**(VALID_REGISTRATION | {field: value}))
    assert error.value.errors()[0]["loc"] == (field,)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("hs_code", "2106"),
        ("hs_code", "21069O"),
        ("unit_price_idr", -1),
        ("unit_price_idr", 0),
        ("monthly_capacity", -5),
        ("category", "Food!"),
    ],
)
def test_invalid_products_are_refused_with_the_field_named(field, value):
    with pytest.raises(ValidationError) as error:
        domain.ListProduct(**(TAHU.model_dump() | {field: value}))
    assert error.value.errors()[0]["loc"] == (field,)


def test_product_listed_carries_what_matching_needs_and_no_contact():
    change = domain.list_product(registered(), TAHU, "prd-1", NOW, RUBRIC)
    listed = next(e for e in change.events if isinstance(e, ProductListed))
    assert (listed.product.hs_code, listed.product.tariff_code) == ("210690", "21069099")
    assert listed.product.unit_price_idr == 25_000
    assert "whatsapp" not in listed.model_dump_json()


def test_delisting_a_ready_product_withdraws_its_readiness_first():
    from ekspora_contracts.registry import ProductDelisted

    msme = certify(setengah_with_pirt(), HALAL).msme
    change = domain.delist_product(msme, "prd-1", "no longer produced", NOW, RUBRIC)
    assert types(change)[:2] == [ProductExportReadinessLost, ProductDelisted]
    assert change.msme.products == [] and change.msme.tier == "didorong"
    with pytest.raises(NotFound):
        domain.delist_product(change.msme, "prd-1", "again", NOW, RUBRIC)


def test_a_withdrawn_umkm_keeps_its_record_and_leaves_export():
    from ekspora_contracts.registry import MsmeWithdrawn

    msme = certify(setengah_with_pirt(), HALAL).msme
    change = domain.withdraw(msme, "closed the business", NOW, RUBRIC)
    assert types(change) == [ProductExportReadinessLost, MsmeWithdrawn]
    assert change.msme.withdrawn_at == NOW and not change.msme.products[0].export_ready
    assert change.msme.products[0].certificates, "the record stays for history"


@pytest.mark.parametrize(
    ("event", "adds"),
    [
        (MsmeRegistered.model_construct(), {"registered": 1, "unassessed": 1}),
        (ReadinessAssessedV1.model_construct(previous_tier=None, tier="didorong"), {"unassessed": -1, "didorong": 1}),
        (
            ReadinessAssessedV1.model_construct(previous_tier="didorong", tier="setengah"),
            {"didorong": -1, "setengah": 1},
        ),
        (ReadinessAssessedV1.model_construct(previous_tier="siap", tier="siap"), {}),
        (IncubationEnrolled.model_construct(), {"in_incubation": 1}),
        (IncubationGraduated.model_construct(), {"in_incubation": -1, "graduated": 1}),
    ],
)
def test_what_each_event_adds_to_the_funnel(event, adds):
    assert funnel.STEPS[type(event)](event) == adds


def test_a_region_s_funnel_follows_from_its_events_alone():
    story = [
        MsmeRegistered.model_construct(),
        ReadinessAssessedV1.model_construct(previous_tier=None, tier="didorong"),
        MsmeRegistered.model_construct(),
        ReadinessAssessedV1.model_construct(previous_tier=None, tier="siap"),
        IncubationEnrolled.model_construct(),
        ReadinessAssessedV1.model_construct(previous_tier="didorong", tier="setengah"),
        ReadinessAssessedV1.model_construct(previous_tier="setengah", tier="siap"),
        IncubationGraduated.model_construct(),
    ]
    counts: Counter[str] = Counter()
    for event in story:
        counts.update(funnel.STEPS[type(event)](event))
    assert +counts == {"registered": 2, "siap": 2, "graduated": 1}


def unlocked(code: str, value_idr: int, requests: int = 1) -> UnlockedDemand:
    return UnlockedDemand(
        gap_code=code,
        requests=requests,
        demand_ids=[f"dmd-{n}" for n in range(requests)],
        units=100 * requests,
        value=[Amount(currency="EUR", minor_units=value_idr // 180)],
        value_idr=value_idr,
    )


def opportunities_of(product_id: str, *openings: UnlockedDemand) -> OpportunitiesChanged:
    return OpportunitiesChanged(
        product_id=product_id,
        msme_id="msme-1",
        region="kota-kediri",
        once_ready=None,
        opportunities=list(openings),
        rate_on=date(2026, 12, 1),
    )


def test_the_demand_behind_each_gap_reorders_the_next_steps_without_a_new_assessment():
    msme = registered()
    msme = domain.list_product(msme, TAHU.model_copy(update={"monthly_capacity": 200}), "prd-1", NOW, RUBRIC).msme
    assert msme.assessment is not None and msme.assessment.road is not None
    before = [gap.code for gap in msme.assessment.road.next_steps]
    assert before[:2] == ["certificate.pirt|bpom_md", "certificate.halal"], "the heaviest first, with no demand known"

    found = opportunities_of(
        "prd-1", unlocked("certificate.halal", 75_600_000, 3), unlocked("capacity.below_typical_order", 9_000_000)
    )
    change = domain.record_opportunities(msme, found, NOW, NOW, RUBRIC)
    assert change is not None and change.events == [], "the same readiness: no event, no history entry"
    road = change.msme.assessment.road
    assert [gap.code for gap in road.next_steps][:2] == ["certificate.halal", "certificate.pirt|bpom_md"]
    assert [u.gap_code for u in road.unlocked] == ["certificate.halal", "capacity.below_typical_order"]
    assert road.unlocked[0].requests == 3
    assert change.msme.product("prd-1").unlocked == found.opportunities

    older = opportunities_of("prd-1")
    assert domain.record_opportunities(change.msme, older, NOW - timedelta(seconds=1), NOW, RUBRIC) is None
    assert domain.record_opportunities(change.msme, opportunities_of("prd-gone"), NOW, NOW, RUBRIC) is None


def test_milestones_are_due_by_their_usual_time_within_the_cohort_and_overdue_after():
    short_cohort = COHORT.model_copy(update={"ends_on": date(2027, 2, 1)})
    enrolled = domain.enrol(setengah_with_pirt(), short_cohort, NOW, RUBRIC)
    due = {m.code: m.due_on for m in enrolled.msme.incubation.milestones}
    assert due == {"halal_certification": date(2027, 1, 12), "first_export_sales": date(2027, 2, 1)}, (
        "six weeks from the cohort's start; twelve would pass its end"
    )
    assert enrolled.events[0].milestones[0].due_on == date(2027, 1, 12), "the owner is told when"
    late = domain.enrol(setengah_with_pirt(), COHORT, datetime(2026, 12, 20, 3, 0, tzinfo=UTC), RUBRIC)
    assert late.msme.incubation.milestones[0].due_on == date(2027, 1, 31), "who joins late gets the full time"

    halal = enrolled.msme.incubation.milestones[0]
    assert [halal.overdue(day) for day in (date(2027, 1, 12), date(2027, 1, 13))] == [False, True]
    seen = domain.Witnessed(recorded_by="operator:kota-kediri", note="certificate seen")
    done = domain.complete_milestone(enrolled.msme, "halal_certification", seen, NOW, RUBRIC).msme
    finished = done.incubation.milestones[0]
    assert not finished.overdue(date(2027, 3, 1)) and finished.note == "certificate seen"


def clinic(starts_at: datetime, session_id: str = "ses-1") -> IncubationSession:
    return IncubationSession(
        session_id=session_id,
        title="Klinik halal: jalur self-declare",
        starts_at=starts_at,
        place="Aula Dinas Koperasi dan UMKM Kota Kediri",
        mentor="Siti Rahmah, Bank Indonesia Kediri",
    )


def test_members_are_invited_reminded_once_a_day_before_and_their_attendance_taken():
    member = domain.enrol(setengah_with_pirt(), COHORT, NOW, RUBRIC).msme
    starts = NOW + timedelta(days=3)
    invited = domain.schedule_session(member, "coh-1", clinic(starts), NOW, RUBRIC)
    assert invited is not None and types(invited) == [IncubationSessionScheduled]
    assert domain.schedule_session(invited.msme, "coh-1", clinic(starts), NOW, RUBRIC) is None, "invited once"
    assert invited.msme.next_certificate_expiry == starts - timedelta(hours=24), "the check's next moment"
    with pytest.raises(NotAllowed, match="not a member of cohort coh-2"):
        domain.schedule_session(member, "coh-2", clinic(starts), NOW, RUBRIC)

    early = domain.certificate_moments(invited.msme, starts - timedelta(hours=25), RUBRIC)
    assert not [e for e in early.events if isinstance(e, IncubationSessionComing)]
    reminded = domain.certificate_moments(invited.msme, starts - timedelta(hours=23), RUBRIC)
    [coming] = [e for e in reminded.events if isinstance(e, IncubationSessionComing)]
    assert coming.session.session_id == "ses-1" and coming.msme_id == member.msme_id
    again = domain.certificate_moments(reminded.msme, starts - timedelta(hours=1), RUBRIC)
    assert not [e for e in again.events if isinstance(e, IncubationSessionComing)], "reminded once"

    soon = domain.schedule_session(reminded.msme, "coh-1", clinic(NOW + timedelta(hours=5), "ses-2"), NOW, RUBRIC)
    assert soon is not None and soon.msme.incubation.sessions[0].reminded, "the invitation is its own reminder"

    with pytest.raises(NotAllowed, match="has not begun"):
        domain.record_attendance(soon.msme, "coh-1", "ses-1", True, NOW, RUBRIC)
    came = domain.record_attendance(soon.msme, "coh-1", "ses-1", True, starts + timedelta(hours=2), RUBRIC)
    assert came is not None and [s.attended for s in came.msme.incubation.sessions] == [None, True]
    assert domain.record_attendance(came.msme, "coh-1", "ses-1", True, starts, RUBRIC) is None
