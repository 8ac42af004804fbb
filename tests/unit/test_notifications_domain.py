from datetime import UTC, datetime

import pytest

from ekspora_contracts.envelope import new_event
from ekspora_notifications.domain import Templates, for_msme_registered, notification_id
from tests.factories import registered_event

EVENT = registered_event(business_name="Kopi Kelud", sector="beverage")


def test_operator_is_told_in_bahasa_indonesia():
    [notification] = for_msme_registered(EVENT, Templates(), datetime.now(UTC))
    assert notification.recipient == "operator:kota-kediri"
    assert notification.language == "id"
    assert notification.text.startswith("UMKM baru terdaftar di kota-kediri: Kopi Kelud (beverage)")
    assert notification.notification_id == f"{EVENT.id}:operator:kota-kediri:in_app"
    assert notification.subject == "msme-1"


def test_same_event_gives_the_same_notification_id():
    first = for_msme_registered(EVENT, Templates(), datetime.now(UTC))
    again = for_msme_registered(EVENT, Templates(), datetime.now(UTC))
    assert [n.notification_id for n in first] == [n.notification_id for n in again]
    assert notification_id("e", "r", "c") != notification_id("e", "r", "email")


def test_missing_language_falls_back_to_english(tmp_path):
    (tmp_path / "ekspora.x.y.done.v1.en.txt").write_text("Done: $what")
    assert Templates(tmp_path).render("ekspora.x.y.done.v1", "nl", {"what": "it"}) == ("Done: it", "en")
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
    from ekspora_contracts.registry import Gap, ReadinessAssessed

    gap = Gap(
        code="certificate.halal",
        criterion="certificates",
        points_missing=15,
        next_step_id="Ajukan sertifikat halal ke BPJPH",
        next_step_en="Apply for a halal certificate with BPJPH",
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
    )
    return new_event(data, region="kota-kediri", producer="registry", correlation_id="c")


def test_owners_hear_of_tier_changes_only_in_their_language_with_the_next_step():
    from ekspora_notifications.domain import owner_message

    message = owner_message(assessed("didorong"), contact(), Templates())
    assert message.subject == "Kesiapan ekspor Keripik Sri: setengah siap"
    assert message.text.endswith("Langkah berikutnya: Ajukan sertifikat halal ke BPJPH.")
    assert owner_message(assessed("setengah"), contact(), Templates()) is None, "no change, no message"
    english = owner_message(assessed("didorong"), contact("en"), Templates())
    assert english.subject == "Export readiness of Keripik Sri: half-ready" and english.language == "en"


def test_missing_documents_are_critical_and_named_in_bahasa_indonesia():
    from datetime import date

    from ekspora_contracts.shipping import ShipmentDocumentsMissing
    from ekspora_notifications.domain import owner_message

    data = ShipmentDocumentsMissing(
        shipment_id="shp-1",
        region="kota-kediri",
        cutoff_on=date(2026, 12, 6),
        missing=["ske_health_certificate@ord-1"],
        msme_ids=["msme-1"],
    )
    event = new_event(data, region="kota-kediri", producer="shipping", correlation_id="c")
    message = owner_message(event, contact(), Templates())
    assert message.critical and message.category == "documents"
    assert "SKE (sertifikat kesehatan)" in message.text and "2026-12-06" in message.text
