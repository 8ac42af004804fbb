"""What owners' WhatsApp messages ask and get, and the webhook's signature and shape, in tables."""

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from ekspora_notifications import report_links, whatsapp
from ekspora_notifications.replies import Asked, OpenProposal, Readiness, Replies, answered, outcome

REPLIES = Replies()
NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "button", "asked"),
    [
        ("1", None, Asked("accept")),
        (" terima ", None, Asked("accept")),
        ("Ya", None, Asked("accept")),
        ("2", None, Asked("decline")),
        ("TOLAK", None, Asked("decline")),
        ("Terima kasih banyak", None, Asked("help")),  # not an answer: a sentence that starts like one
        ("3", None, Asked("help")),
        (None, None, Asked("help")),  # an image, a location
        ("Terima", "accept:mt-abc-1", Asked("accept", "mt-abc-1")),
        ("Tolak", "decline:mt-abc-1", Asked("decline", "mt-abc-1")),
        ("Terima", "accept:", Asked("accept")),  # a button without a proposal: as if typed
        ("Terima", "delete:mt-abc-1", Asked("accept")),  # not one of our buttons
        ("laporan", None, Asked("report")),
        ("BERHENTI", None, Asked("stop")),
        ("stop", None, Asked("stop")),
        ("Mulai", None, Asked("start")),
    ],
)
def test_what_a_message_asks(text, button, asked):
    assert REPLIES.read(text, button) == asked


def proposal(match_id: str, hours_ago: int) -> OpenProposal:
    return OpenProposal(match_id, "msme-1", "Tahu Takwa", "Toko Amsterdam", NOW - timedelta(hours=hours_ago))


@pytest.mark.parametrize(
    ("asked", "open_ones", "answers", "answer"),
    [
        (Asked("accept"), [proposal("mt-old", 5), proposal("mt-new", 1)], "mt-new", "accepted"),
        (Asked("decline"), [proposal("mt-old", 5)], "mt-old", "declined"),
        (Asked("accept", "mt-old"), [proposal("mt-old", 5), proposal("mt-new", 1)], "mt-old", "accepted"),
        (Asked("accept", "mt-closed"), [proposal("mt-new", 1)], None, "no_open_proposal"),
        (Asked("accept"), [], None, "no_open_proposal"),
        (Asked("help"), [proposal("mt-new", 1)], "mt-new", "help"),
        (Asked("stop"), [], None, "stopped"),
        (Asked("start"), [], None, "started"),
    ],
)
def test_which_proposal_an_answer_is_for_and_what_the_owner_is_told(asked, open_ones, answers, answer):
    found = answered(asked, open_ones)
    assert (found.match_id if found else None) == answers
    assert outcome(asked, found, has_report=False) == answer


@pytest.mark.parametrize(("has_report", "answer"), [(True, "report"), (False, "no_report")])
def test_a_report_is_answered_when_there_is_an_assessment(has_report, answer):
    assert outcome(Asked("report"), None, has_report=has_report) == answer


@pytest.mark.parametrize(
    "answer", ["accepted", "declined", "no_open_proposal", "report", "no_report", "stopped", "started", "help"]
)
@pytest.mark.parametrize("language", ["id", "en"])
def test_every_answer_is_written_in_both_languages_with_its_values(answer, language):
    values = {"owner": "Bu Sri", "product": "Tahu Takwa", "partner": "Toko A", "business": "Bu Sri's Tahu"}
    values |= {"tier_label": "siap", "score": "80", "steps": "", "link": "https://x", "until": "2026-12-10"}
    text = REPLIES.answer(answer, language, values)
    assert "Bu Sri" in text and "$" not in text
    assert REPLIES.answer(answer, "nl", {"owner": "x"}) == REPLIES.answer(answer, "en", {"owner": "x"})


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("secret", "body", "header", "valid"),
    [
        ("app-secret", b'{"a":1}', signature("app-secret", b'{"a":1}'), True),
        ("app-secret", b'{"a":2}', signature("app-secret", b'{"a":1}'), False),  # body changed
        ("app-secret", b'{"a":1}', signature("other", b'{"a":1}'), False),
        ("app-secret", b'{"a":1}', signature("app-secret", b'{"a":1}').removeprefix("sha256="), False),
        ("app-secret", b'{"a":1}', None, False),
        ("", b'{"a":1}', signature("", b'{"a":1}'), False),  # no secret configured: nothing is signed
    ],
)
def test_a_post_is_signed_only_by_the_hmac_of_its_raw_body(secret, body, header, valid):
    assert whatsapp.signed(secret, body, header) is valid


def post(*messages: dict, contacts: list[dict] | None = None) -> bytes:
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "1"}, "messages": list(messages)}
    if contacts is not None:
        value["contacts"] = contacts
    entry = {"id": "waba-1", "changes": [{"field": "messages", "value": value}]}
    return json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()


def test_messages_are_read_with_a_phone_a_button_or_only_a_business_scoped_user_id():
    typed = {"from": "6281234567001", "id": "wamid.1", "timestamp": "1764727200", "type": "text", "text": {"body": "1"}}
    tapped = {
        "from": "6281234567001",
        "id": "wamid.2",
        "timestamp": "1764727260",
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": "accept:mt-abc-1", "title": "Terima"}},
    }
    by_username = {
        "from_user_id": "ID.1502576394655843",
        "id": "wamid.3",
        "timestamp": "1764727320",
        "type": "text",
        "text": {"body": "2"},
    }
    contacts = [{"profile": {"name": "Sri"}, "wa_id": "6281234567001", "user_id": "ID.1502576394655843"}]
    read = whatsapp.WebhookPost.model_validate_json(post(typed, tapped, by_username, contacts=contacts)).messages()
    assert [(m.id, m.phone, m.user_id, m.said, m.button_id) for m, _ in read] == [
        ("wamid.1", "6281234567001", None, "1", None),
        ("wamid.2", "6281234567001", None, None, "accept:mt-abc-1"),
        ("wamid.3", None, "ID.1502576394655843", "2", None),
    ]
    assert read[0][0].sent_at == datetime(2025, 12, 3, 2, 0, tzinfo=UTC)
    assert read[2][1][0].user_id == "ID.1502576394655843"


@pytest.mark.parametrize(
    "broken",
    [
        {"object": "page", "entry": []},
        {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages"}]}]},
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "1",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "messages": [{"from": "+62 812", "id": "x", "timestamp": "1", "type": "text"}],
                            },
                        }
                    ],
                }
            ],
        },
    ],
)
def test_a_post_not_shaped_as_the_cloud_api_posts_is_refused(broken):
    with pytest.raises(ValueError):
        whatsapp.WebhookPost.model_validate_json(json.dumps(broken))


SECRET = "report-link-secret"


def test_a_report_link_opens_its_report_until_it_expires_and_only_as_signed():
    until = NOW + timedelta(days=7)
    token = report_links.sign(SECRET, "msme-000123", until)
    assert report_links.read(SECRET, token, NOW) == ("msme-000123", until)
    with pytest.raises(report_links.LinkRefused) as expired:
        report_links.read(SECRET, token, until)
    assert expired.value.expired
    encoded, _, mac = token.partition(".")
    other = report_links.sign(SECRET, "msme-000999", until).partition(".")[0]
    for forged in (f"{other}.{mac}", f"{encoded}.{mac[:-2]}AA", "not-a-link", f"{encoded}."):
        with pytest.raises(report_links.LinkRefused) as refused:
            report_links.read(SECRET, forged, NOW)
        assert not refused.value.expired
    with pytest.raises(report_links.LinkRefused):
        report_links.read("another-secret", token, NOW)
    with pytest.raises(report_links.LinkRefused):
        report_links.read("", report_links.sign("", "msme-000123", until), NOW)


def test_the_report_page_shows_tier_score_and_next_steps_escaped_in_the_owner_s_language():
    gaps = [
        {"code": "certificate.halal", "next_step_id": "Urus sertifikat halal <gratis>", "next_step_en": "Get halal"}
    ]
    readiness = Readiness(msme_id="msme-1", tier="setengah", score=62, gaps=gaps, assessed_at=NOW)
    page = report_links.page(readiness, "Tahu <Bu Sri>", "setengah siap", "id", NOW + timedelta(days=7))
    assert '<html lang="id">' in page and "62/100" in page and "setengah siap" in page
    assert "Urus sertifikat halal &lt;gratis&gt;" in page and "Tahu &lt;Bu Sri&gt;" in page
    assert "<script" not in page and "http" not in page.replace("http-equiv", "")
