from datetime import UTC, datetime

import pytest

from ekspora_contracts.envelope import new_event
from ekspora_contracts.registry import IncubationSession, IncubationSessionComing, Milestone
from ekspora_notifications.domain import Templates, for_msme_registered, notification_id
from tests.factories import CLOCK, registered_event

EVENT = registered_event(business_name="Kopi Kelud", sector="beverage")


def test_operator_is_told_in_bahasa_indonesia():
    [notification] = for_msme_registered(EVENT, Templates(), CLOCK.now())
    assert notification.recipient == "operator:kota-kediri"
    assert notification.language == "id"
    assert notification.text.startswith("UMKM baru terdaftar di kota-kediri: Kopi Kelud (beverage)")
    assert notification.notification_id == f"{EVENT.id}:operator:kota-kediri:in_app"
    assert notification.subject == "msme-1"


def test_same_event_gives_the_same_notification_id():
    first = for_msme_registered(EVENT, Templates(), CLOCK.now())
    again = for_msme_registered(EVENT, Templates(), CLOCK.now())
    assert [n.notification_id for n in first] == [n.notification_id for n in again]
    assert notification_id("e", "r", "c") != notification_id("e", "r", "email")


def test_missing_language_falls_back_to_english(tmp_path):
    (tmp_path / "ekspora.x.y.done.v1.owner.en.txt").write_text("Done: $what")
    assert Templates(tmp_path).render("ekspora.x.y.done.v1.owner", "nl", {"what": "it"}) == ("Done: it", "en")
    with pytest.raises(LookupError):
        Templates(tmp_path).render("ekspora.x.y.other.v1", "id", {})


def contact(language: str = "id"):
    from ekspora_notifications.domain import Contact

    return Contact(
        msme_id="msme-1",
        region="kota-kediri",
        owner_name="Sri",
        business_name="Keripik Sri",
        whatsapp="+6285712340001",
        email=None,
        preferred_language=language,
        timezone="Asia/Jakarta",
        changed_at=datetime(2026, 11, 28, tzinfo=UTC),
    )


def assessed(previous, tier="setengah"):
    from ekspora_contracts.registry import Gap, Programme, ReadinessAssessed, RoadAdvice

    gap = Gap(
        code="certificate.halal",
        criterion="certificates",
        points_missing=15,
        next_step_id="Ajukan sertifikat halal ke BPJPH",
        next_step_en="Apply for a halal certificate with BPJPH",
        programme=Programme(name="SEHATI (self-declare)", url="https://ptsp.halal.go.id"),
    )
    data = ReadinessAssessed(
        msme_id="msme-1",
        region="kota-kediri",
        score=70,
        tier=tier,
        previous_tier=previous,
        gaps=[gap],
        criteria=[],
        best_product_id=None,
        trigger="x",
        road=RoadAdvice(road="incubate_first", reason_id="-", reason_en="-", next_steps=[gap]),
    )
    return new_event(data, region="kota-kediri", producer="registry", correlation_id="c", time=CLOCK.now())


def owner_message(event, contact):
    from ekspora_notifications.domain import Labels, MessageRules, compose, owner_recipient

    recipient = owner_recipient(contact)
    context = {"business": contact.business_name}
    return compose(
        event, "owner", recipient, templates=Templates(), labels=Labels(), rules=MessageRules(), context=context
    )


def test_owners_hear_of_tier_changes_only_in_their_language_with_the_next_step():
    message = owner_message(assessed("didorong"), contact())
    assert message.subject == "Kesiapan ekspor Keripik Sri: setengah siap"
    assert message.text.endswith(
        "Jalur yang disarankan: inkubasi dulu. Langkah berikutnya: Ajukan sertifikat halal ke BPJPH."
        " Program: SEHATI (self-declare) (https://ptsp.halal.go.id)."
    )
    assert owner_message(assessed("setengah"), contact()) is None, "no change, no message"
    english = owner_message(assessed("didorong"), contact("en"))
    assert english.subject == "Export readiness of Keripik Sri: half-ready" and english.language == "en"


def test_missing_documents_are_critical_and_named_in_bahasa_indonesia():
    from datetime import date

    from ekspora_contracts.shipping import ShipmentDocumentsMissing

    data = ShipmentDocumentsMissing(
        shipment_id="shp-1",
        region="kota-kediri",
        cutoff_on=date(2026, 12, 6),
        missing=["ske_health_certificate@ord-1"],
        msme_ids=["msme-1"],
    )
    event = new_event(data, region="kota-kediri", producer="shipping", correlation_id="c", time=CLOCK.now())
    message = owner_message(event, contact())
    assert message.critical and message.category == "documents"
    assert "SKE (sertifikat kesehatan)" in message.text and "2026-12-06" in message.text


def proposed():
    from datetime import timedelta

    from ekspora_contracts.matching import MatchProposed, MatchTerms, ScorePart

    terms = MatchTerms(
        match_id="m-1",
        region="kota-kediri",
        product_id="p-1",
        msme_id="msme-1",
        product_name="Keripik Tempe",
        category="snack",
        hs_code="200899",
        unit="pack",
        net_weight_grams=200,
        partner_id="partner-1",
        partner_name="Toko Nusantara Amsterdam",
        demand_id="d-1",
        destination_country="NL",
        destination_city="Amsterdam",
        quantity=600,
        unit_price_idr=18000,
        unit_price=180,
        currency="EUR",
        incoterm="FOB",
        documents=["commercial_invoice", "rex_statement_on_origin"],
    )
    parts = [
        ScorePart(criterion="price", points=30, max_points=30, reason_id="harga cocok", reason_en="price fits"),
        ScorePart(criterion="lead", points=0, max_points=10, reason_id="-", reason_en="slow"),
    ]
    data = MatchProposed(
        terms=terms, score=87.4, breakdown=parts, expires_at=datetime(2026, 12, 5, tzinfo=UTC) + timedelta(hours=1)
    )
    return new_event(data, region="kota-kediri", producer="matching", correlation_id="c", time=CLOCK.now())


def partner(languages):
    from ekspora_notifications.domain import PartnerContact

    return PartnerContact(
        partner_id="partner-1",
        version=1,
        name="Toko Nusantara Amsterdam",
        country="NL",
        city="Amsterdam",
        languages=languages,
        contact_email="inkoop@toko.example",
    )


@pytest.mark.parametrize(
    ("languages", "language", "subject", "phrase"),
    [
        (["nl", "en", "id"], "nl", "Voorstel: Keripik Tempe van Keripik Sri", "tegen 1.80 EUR (Rp18,000) per stuk"),
        (["en", "nl"], "en", "Proposal: Keripik Tempe from Keripik Sri", "Why: price fits."),
        (["id"], "en", "Proposal: Keripik Tempe from Keripik Sri", "REX statement on origin"),
    ],
)
def test_partners_are_told_in_dutch_or_english_with_why_and_in_their_zone(languages, language, subject, phrase):
    from ekspora_notifications.domain import Labels, MessageRules, compose, partner_recipient

    recipient = partner_recipient(partner(languages), "kota-kediri", Labels())
    assert recipient.timezone == "Europe/Amsterdam" and recipient.chain == ("email",)
    message = compose(
        proposed(),
        "partner",
        recipient,
        templates=Templates(),
        labels=Labels(),
        rules=MessageRules(),
        context={"business": "Keripik Sri"},
    )
    assert (message.language, message.subject, message.category) == (language, subject, "matches")
    assert phrase in message.text


def status_changed(status):
    from ekspora_contracts.shipping import ShipmentStatusChanged

    data = ShipmentStatusChanged(
        shipment_id="shp-1",
        region="kota-kediri",
        previous_status="booked",
        status=status,
        location="Tanjung Perak",
        occurred_at=datetime(2026, 11, 28, tzinfo=UTC),
        source="carrier",
    )
    return new_event(data, region="kota-kediri", producer="shipping", correlation_id="c", time=CLOCK.now())


@pytest.mark.parametrize(
    ("status", "told", "critical"),
    [("picked_up", False, False), ("departed", True, False), ("delivered", True, False), ("customs_hold", True, True)],
)
def test_owners_hear_of_departures_deliveries_and_exceptions_which_are_critical(status, told, critical):
    message = owner_message(status_changed(status), contact())
    assert (message is not None) == told
    if message:
        assert message.critical == critical and message.category == "shipments"
        assert "shp-1" in message.subject


def test_every_template_placeholder_is_filled_for_every_rule_and_language():
    """A template naming a value the code does not provide would fail at send time; catch it here."""
    from ekspora_notifications.domain import MessageRules

    templates = Templates()
    for event_type, roles in MessageRules().events.items():
        for role in roles:
            languages = {
                key.rsplit(".", 1)[1] for key in templates.templates if key.startswith(f"{event_type}.{role}.")
            }
            assert "en" in languages, f"{event_type} {role} has no English template"
            assert role != "owner" or "id" in languages, f"{event_type}: UMKM owners read Bahasa Indonesia"


def test_the_digest_is_a_table_of_the_days_figures():
    from datetime import date

    from ekspora_notifications.digest import day_to_digest, readable
    from ekspora_notifications.domain import digest_message

    counts = {readable("ekspora.registry.msme.registered.v1"): 3, "messages that could not be delivered": 0}
    message = digest_message("kota-kediri", date(2026, 11, 27), counts, Templates(), "id")
    assert message.subject == "Ringkasan harian kota-kediri, 2026-11-27"
    assert "msme registered" in message.text and message.text.splitlines()[0].rstrip().endswith("3")
    from datetime import time

    assert day_to_digest(datetime(2026, 11, 28, 1, 0, tzinfo=UTC), "Asia/Jakarta", time(7)) == date(2026, 11, 27)
    assert day_to_digest(datetime(2026, 11, 27, 23, 0, tzinfo=UTC), "Asia/Jakarta", time(7)) is None


def test_parties_of_an_event():
    from ekspora_notifications.domain import parties

    assert parties(proposed().data) == (["msme-1"], ["partner-1"])
    assert parties(status_changed("departed").data) == ([], [])


HALAL_MILESTONE = Milestone(
    code="halal_certification",
    title_id="Sertifikasi halal BPJPH",
    title_en="BPJPH halal certification",
    gap_code="certificate.halal",
    due_on=datetime(2027, 1, 12).date(),
)


HALAL_CLINIC = IncubationSession(
    session_id="ses-1",
    title="Klinik halal: jalur self-declare",
    starts_at=datetime(2026, 12, 10, 2, 0, tzinfo=UTC),
    place="Aula Dinas Koperasi dan UMKM Kota Kediri",
    mentor="Siti Rahmah, Bank Indonesia Kediri",
)


def test_a_session_is_named_by_its_day_and_time_in_kediri_in_the_owners_language():
    from ekspora_notifications.domain import session_time

    assert session_time(HALAL_CLINIC.starts_at, "id") == "Kamis, 10 Desember 2026 pukul 09.00 WIB"
    assert session_time(HALAL_CLINIC.starts_at, "en") == "Thursday 10 December 2026 at 09:00 WIB"
    coming = new_event(
        IncubationSessionComing(msme_id="msme-1", region="kota-kediri", cohort_id="coh-1", session=HALAL_CLINIC),
        region="kota-kediri",
        producer="registry",
        correlation_id="c",
        time=CLOCK.now(),
    )
    message = owner_message(coming, contact())
    assert message.subject == 'Pengingat: sesi "Klinik halal: jalur self-declare" segera dimulai'
    assert "Kamis, 10 Desember 2026 pukul 09.00 WIB di Aula Dinas Koperasi" in message.text


def every_message_event():
    """One realistic event of every type a rule in data/messages.yaml tells someone about."""
    from datetime import date

    from ekspora_contracts.matching import MatchConfirmed, MatchRequoted, MatchWithdrawn, SalesReported
    from ekspora_contracts.registry import (
        CertificateEvidenceRejected,
        CertificateExpiring,
        IncubationEnrolled,
        IncubationGraduated,
        IncubationMilestoneCompleted,
        IncubationSessionComing,
        IncubationSessionScheduled,
    )
    from ekspora_contracts.shipping import (
        SalesFeedbackRequested,
        ShipmentDocumentsMissing,
        ShipmentDocumentStatusChanged,
    )

    terms = proposed().data.terms
    data = [
        MatchConfirmed(terms=terms, confirmed_at=datetime(2026, 11, 28, tzinfo=UTC)),
        MatchWithdrawn(
            terms=terms,
            reason_code="product_not_ready",
            reason_en="the product is no longer export-ready (halal certificate expired)",
            reason_id="produk tidak lagi siap ekspor",
            withdrawn_at=datetime(2026, 11, 28, tzinfo=UTC),
        ),
        MatchRequoted(terms=terms, by="partner", previous_unit_price=terms.unit_price + 20, accepted_by=["partner"]),
        MatchRequoted(terms=terms, by="msme", previous_unit_price=terms.unit_price - 20, accepted_by=["msme"]),
        IncubationGraduated(msme_id="msme-1", region="kota-kediri", cohort_id="c-1", score=82, days_in_incubation=40),
        SalesReported(
            report_id="r-1",
            match_id="m-1",
            msme_id="msme-1",
            product_id="p-1",
            partner_id="partner-1",
            region="kota-kediri",
            units_sold=580,
            revenue_amount=162_000,
            revenue_currency="EUR",
            returns=2,
            rating=5,
            comment="Laris manis",
            will_reorder=True,
            reported_at=datetime(2026, 11, 28, tzinfo=UTC),
        ),
        ShipmentDocumentsMissing(
            shipment_id="shp-1",
            region="kota-kediri",
            cutoff_on=date(2026, 12, 6),
            missing=["packing_list"],
            msme_ids=["msme-1"],
        ),
        SalesFeedbackRequested(
            shipment_id="shp-1",
            region="kota-kediri",
            order_id="ord-1",
            match_id="m-1",
            partner_id="partner-1",
            msme_id="msme-1",
            product_name="Keripik Tempe",
        ),
        IncubationEnrolled(
            msme_id="msme-1",
            region="kota-kediri",
            cohort_id="coh-1",
            cohort_name="UMKM Kita Bisa Kota Kediri 2026",
            tier_at_enrolment="didorong",
            milestones=[HALAL_MILESTONE],
        ),
        IncubationMilestoneCompleted(
            msme_id="msme-1",
            region="kota-kediri",
            cohort_id="coh-1",
            milestone=HALAL_MILESTONE,
            completed_by="evidence",
            remaining=2,
        ),
        IncubationSessionScheduled(msme_id="msme-1", region="kota-kediri", cohort_id="coh-1", session=HALAL_CLINIC),
        IncubationSessionComing(msme_id="msme-1", region="kota-kediri", cohort_id="coh-1", session=HALAL_CLINIC),
        CertificateExpiring(
            msme_id="msme-1",
            region="kota-kediri",
            product_id="p-1",
            product_name="Keripik Tempe",
            kind="halal",
            number="ID35110000123450823",
            expires_on=date(2027, 1, 2),
            days_left=30,
            warning=30,
            renewal_id="ajukan perpanjangan di SIHALAL",
            renewal_en="apply to renew in SIHALAL",
        ),
        CertificateEvidenceRejected(
            msme_id="msme-1",
            region="kota-kediri",
            product_id="p-1",
            product_name="Keripik Tempe",
            kind="halal",
            reason="nomor sertifikat tidak terbaca",
        ),
        ShipmentDocumentStatusChanged(
            shipment_id="shp-1",
            region="kota-kediri",
            document="ske_health_certificate",
            order_id="ord-1",
            status="rejected",
            msme_id="msme-1",
            reason="nomor sertifikat tidak terbaca",
            changed_by="op-1",
        ),
    ]
    events = [new_event(d, region="kota-kediri", producer="test", correlation_id="c", time=CLOCK.now()) for d in data]
    return [assessed("didorong"), proposed(), status_changed("customs_hold"), *events]


@pytest.mark.parametrize("language", ["id", "en", "nl"])
def test_every_rule_renders_every_template_with_real_events_and_no_placeholder_left(language):
    from ekspora_notifications.domain import Labels, MessageRules, Recipient, compose

    rules, labels, templates = MessageRules(), Labels(), Templates()
    events: dict[str, list] = {}
    for event in every_message_event():
        events.setdefault(event.type, []).append(event)
    assert set(events) == set(rules.events), "a sample event for every rule"
    for event_type, roles in rules.events.items():
        for role in roles:
            recipient = Recipient(
                recipient=f"{role}:x",
                region="kota-kediri",
                name="Sri",
                language=language,
                timezone="Asia/Jakarta",
                chain=("email",),
            )
            context = {"business": "Keripik Sri", "partner_name": "Toko Nusantara Amsterdam"}
            told = [
                compose(event, role, recipient, templates=templates, labels=labels, rules=rules, context=context)
                for event in events[event_type]
            ]
            message = next((m for m in told if m is not None), None)
            assert message is not None, (event_type, role)
            assert "$" not in message.subject + message.text, (event_type, role, message)


def test_a_new_price_is_told_only_to_the_side_that_did_not_set_it():
    from ekspora_contracts.matching import MatchRequoted
    from ekspora_notifications.domain import Labels, MessageRules, Recipient, compose

    terms = proposed().data.terms
    rules, labels, templates = MessageRules(), Labels(), Templates()
    owner = Recipient(
        recipient="umkm:x", region="kota-kediri", name="Sri", language="id", timezone="Asia/Jakarta", chain=("email",)
    )
    for by, told in (("partner", True), ("msme", False)):
        data = MatchRequoted(terms=terms, by=by, previous_unit_price=180, accepted_by=[by])
        event = new_event(data, region="kota-kediri", producer="test", correlation_id="c", time=CLOCK.now())
        message = compose(event, "owner", owner, templates=templates, labels=labels, rules=rules, context={})
        assert (message is not None) is told
    assert message is None
    countered = MatchRequoted(terms=terms, by="partner", previous_unit_price=180, accepted_by=["partner"])
    event = new_event(countered, region="kota-kediri", producer="test", correlation_id="c", time=CLOCK.now())
    message = compose(event, "owner", owner, templates=templates, labels=labels, rules=rules, context={})
    assert "menawar" in message.subject and "1.80 EUR" in message.text and "balas 1 untuk MENERIMA" in message.text


def test_a_rejected_document_tells_its_owner_why_in_bahasa_and_a_shipment_level_one_tells_no_owner():
    from ekspora_contracts.shipping import ShipmentDocumentStatusChanged
    from ekspora_notifications.domain import Labels, MessageRules, Recipient, compose

    owner = Recipient(
        recipient="owner:msme-1", region="kota-kediri", name="Sri", language="id", timezone="Asia/Jakarta", chain=()
    )

    def told(**fields):
        data = ShipmentDocumentStatusChanged(
            shipment_id="shp-1", region="kota-kediri", document="ske_health_certificate", **fields
        )
        event = new_event(data, region="kota-kediri", producer="shipping", correlation_id="c", time=CLOCK.now())
        return compose(
            event,
            "owner",
            owner,
            templates=Templates(),
            labels=Labels(),
            rules=MessageRules(),
            context={"owner": "Sri"},
        )

    rejected = told(order_id="ord-1", status="rejected", msme_id="msme-1", reason="nomor sertifikat tidak terbaca")
    assert rejected is not None and rejected.critical and rejected.language == "id"
    assert "ditolak: nomor sertifikat tidak terbaca" in rejected.text and "SKE (sertifikat kesehatan)" in rejected.text
    assert told(order_id="ord-1", status="verified", msme_id="msme-1") is None, "verification is not news to them"
    assert told(order_id=None, status="rejected", reason="PEB salah kode HS") is None, "the PEB is the exporter's"
