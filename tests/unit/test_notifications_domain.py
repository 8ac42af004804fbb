from datetime import UTC, datetime

import pytest

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
