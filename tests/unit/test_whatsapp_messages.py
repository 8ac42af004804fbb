"""What goes to the WhatsApp Cloud API for a message to an owner, in and out of the 24-hour window,
and the template catalogue kept in step with the messages that may leave outside it."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from ekspora_notifications.domain import TEMPLATE_DIR, MessageRules
from ekspora_notifications.whatsapp_messages import WhatsAppTemplates, content, parameter, window_open

TEMPLATES = WhatsAppTemplates()
PROPOSED = "ekspora.matching.match.proposed.v1"
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
VALUES = {
    "owner": "Sri Lestari",
    "partner": "Toko Nusantara",
    "city": "Amsterdam",
    "quantity": "600",
    "unit": "pak",
    "product": "Tahu Takwa",
    "price": "1,43 EUR\n(Rp24.500)",
    "expires": "2026-12-10",
    "match": "mt-abc-1",
}


def test_every_message_that_may_reach_an_owner_outside_the_window_has_a_template():
    owner_messages = {event for event, roles in MessageRules().events.items() if "owner" in roles}
    assert owner_messages == set(TEMPLATES.templates), "one template per owner message, no more"


@pytest.mark.parametrize("event_type", sorted(WhatsAppTemplates().templates))
def test_each_template_is_filled_with_values_its_message_has_in_both_languages(event_type):
    spec = TEMPLATES.of(event_type)
    assert spec is not None and re.fullmatch(r"[a-z0-9_]{1,512}", spec.name) and spec.category == "UTILITY"
    assert set(spec.languages) == {"id", "en"}
    for language in spec.languages:
        text = (TEMPLATE_DIR / f"{event_type}.owner.{language}.txt").read_text()
        filled = set(re.findall(r"\$\{?(\w+)", text)) | {"owner", "business"}
        assert set(spec.parameters) <= filled, f"{event_type}: {set(spec.parameters) - filled} not in its text"


@pytest.mark.parametrize(
    ("last_from_owner", "is_open"),
    [(None, False), (NOW - timedelta(hours=23, minutes=59), True), (NOW - timedelta(hours=24), False)],
)
def test_the_window_is_24_hours_from_the_owner_s_last_message(last_from_owner, is_open):
    assert window_open(last_from_owner, NOW) is is_open


def test_inside_the_window_a_proposal_goes_with_reply_buttons_that_answer_it():
    sent = content(TEMPLATES, PROPOSED, "id", "*Ada calon pembeli*\nHalo", VALUES, in_window=True)
    assert sent is not None and sent["type"] == "interactive"
    buttons = sent["interactive"]["action"]["buttons"]
    assert [(b["reply"]["id"], b["reply"]["title"]) for b in buttons] == [
        ("accept:mt-abc-1", "Terima"),
        ("decline:mt-abc-1", "Tolak"),
    ]
    assert len(buttons) <= 3 and all(len(b["reply"]["title"]) <= 20 for b in buttons)


def test_inside_the_window_other_messages_go_as_their_text():
    sent = content(TEMPLATES, "ekspora.registry.readiness.assessed.v2", "en", "x" * 5000, {}, in_window=True)
    assert sent == {"type": "text", "text": {"body": "x" * 4096, "preview_url": False}}


def test_outside_the_window_a_proposal_goes_as_its_template_with_its_parameters_in_order():
    sent = content(TEMPLATES, PROPOSED, "en", "ignored", VALUES, in_window=False)
    assert sent is not None and sent["type"] == "template"
    template = sent["template"]
    assert template["name"] == "ekspora_usulan_pembeli" and template["language"] == {"code": "en"}
    body, accept, decline = template["components"]
    assert [p["text"] for p in body["parameters"]] == [
        "Sri Lestari",
        "Toko Nusantara",
        "Amsterdam",
        "600",
        "pak",
        "Tahu Takwa",
        "1,43 EUR (Rp24.500)",  # no new line: the Cloud API refuses them in parameters
        "2026-12-10",
    ]
    assert (accept["sub_type"], accept["index"], accept["parameters"][0]["payload"]) == (
        "quick_reply",
        "0",
        "accept:mt-abc-1",
    )
    assert decline["parameters"][0]["payload"] == "decline:mt-abc-1"


@pytest.mark.parametrize(
    ("event_type", "in_window", "kind"),
    [
        ("ekspora.notifications.whatsapp.reply", True, "text"),  # an answer to the owner's own message
        ("ekspora.notifications.whatsapp.reply", False, None),  # no template: it may not go
        ("ekspora.shipping.shipment.documents_missing.v1", False, "template"),
    ],
)
def test_what_goes_depends_on_the_window_and_the_catalogue(event_type, in_window, kind):
    sent = content(TEMPLATES, event_type, "id", "text", {"owner": "Sri"}, in_window=in_window)
    assert (sent["type"] if sent else None) == kind


@pytest.mark.parametrize(("value", "written"), [("a\n\tb   c", "a b c"), ("", "-"), ("  ", "-"), (600, "600")])
def test_template_parameters_are_written_as_the_cloud_api_takes_them(value, written):
    assert parameter(value) == written
