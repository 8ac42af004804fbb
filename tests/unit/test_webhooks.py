"""Standard Webhooks: signatures an independent implementation accepts, retry timing, SSRF guard."""

import asyncio
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from ekspora_kit.clock import Clock
from ekspora_notifications import webhooks
from ekspora_notifications.channels import UnsafeUrl, WebhookSender
from tests.factories import registered_event

SECRET = webhooks.new_secret(bytes(range(32)))


def test_a_delivery_verifies_with_the_standardwebhooks_package_and_fails_when_changed():
    event = registered_event()
    body = webhooks.body(event).encode()
    now = Clock().unix_seconds()  # the verifier checks against its own, unshifted clock
    headers = webhooks.headers([SECRET], webhooks.message_id(event.id), now, body)
    payload = Webhook(SECRET).verify(body, headers)
    assert payload["type"] == event.type and payload["data"]["msme_id"] == "msme-1"
    assert set(json.loads(body)) == {"type", "timestamp", "data"}
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(body.replace(b"msme-1", b"msme-2"), headers)


def test_during_a_rotation_both_secrets_sign_and_either_verifies():
    newer = webhooks.new_secret(bytes(range(1, 33)))
    body = b'{"type":"x","timestamp":"2026-11-28T00:00:00Z","data":{}}'
    now = Clock().unix_seconds()  # the verifier checks against its own, unshifted clock
    headers = webhooks.headers([newer, SECRET], "msg_1", now, body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(SECRET).verify(body, headers)
    Webhook(newer).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.new_secret(bytes(24))).verify(body, headers)


def test_secrets_are_whsec_and_24_to_64_bytes():
    assert SECRET.startswith("whsec_")
    with pytest.raises(ValueError):
        webhooks.new_secret(bytes(16))


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, "delivered"),
        (204, "delivered"),
        (301, "retry"),
        (410, "gone"),
        (429, "retry"),
        (500, "retry"),
        (None, "retry"),
    ],
)
def test_only_2xx_counts_and_410_means_gone(status, outcome):
    assert webhooks.classify(status) == outcome


NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)
SCHEDULE = [0, 5, 300, 1800]


@pytest.mark.parametrize(
    ("made", "retry_after", "seconds"),
    [(1, None, 5), (2, None, 300), (3, None, 1800), (4, None, None), (1, 120.0, 120), (3, 60.0, 1800)],
)
def test_retries_follow_the_schedule_and_retry_after_only_lengthens(made, retry_after, seconds):
    at = webhooks.next_attempt_at(
        attempts_made=made, schedule=SCHEDULE, now=NOW, retry_after=retry_after, jitter=0, rng=random.Random(1)
    )
    assert (None if at is None else (at - NOW).total_seconds()) == seconds


def test_jitter_spreads_retries_within_its_bound():
    rng = random.Random(7)
    delays = {
        (
            webhooks.next_attempt_at(attempts_made=2, schedule=SCHEDULE, now=NOW, retry_after=None, jitter=0.1, rng=rng)
            - NOW
        )
        for _ in range(50)
    }
    assert len(delays) > 40
    assert all(timedelta(seconds=270) <= d <= timedelta(seconds=330) for d in delays)


def test_retry_after_reads_seconds_and_http_dates():
    assert webhooks.parse_retry_after("30", NOW) == 30
    assert webhooks.parse_retry_after("Sat, 28 Nov 2026 12:01:00 GMT", NOW) == 60
    assert webhooks.parse_retry_after("soon", NOW) is None
    assert webhooks.parse_retry_after("²", NOW) is None  # a Unicode digit, which int() and float() refuse
    assert webhooks.parse_retry_after(None, NOW) is None


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.10.10", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("100.64.0.1", "non-public"),
        ("::ffff:10.0.0.1", "IPv4-mapped"),
        ("2002:7f00:1::", "6to4"),  # 127.0.0.1, which Python's is_global calls global
        ("2002:5db8:d822::1", "6to4"),  # even of a public address: the relay is not ours to trust
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo"),  # a client at 127.0.0.1
        ("64:ff9b::7f00:1", "NAT64"),
        ("64:ff9b:1::a00:1", "NAT64"),
        ("240.0.0.1", "private"),
        ("93.184.216.34", None),
        ("2606:2800:220:1:248:1893:25c8:1946", None),
    ],
)
def test_addresses_a_webhook_may_never_reach(address, kind):
    assert webhooks.blocked_kind(address, allow_loopback=False) == kind


def test_the_test_setting_lets_loopback_through_and_nothing_else():
    assert webhooks.blocked_kind("127.0.0.1", allow_loopback=True) is None
    assert webhooks.blocked_kind("10.0.0.1", allow_loopback=True) == "private"
    assert webhooks.blocked_kind("169.254.169.254", allow_loopback=True) == "cloud metadata"


def sender_resolving(answers: dict[str, list[str]], allow_loopback: bool = False) -> WebhookSender:
    async def resolver(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError(-2, "Name or service not known")
        return answers[host]

    return WebhookSender(allow_loopback=allow_loopback, timeout=1, resolver=resolver)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1/hook", "127.0.0.1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data", "169.254.169.254 is a cloud metadata address"),
        ("http://10.0.0.1/hook", "10.0.0.1 is a private address"),
        ("http://[::1]:8080/hook", "::1 is a loopback address"),
        ("https://loopback.example/hook", "loopback.example resolves to 127.0.0.1, which is a loopback address"),
        ("https://metadata.example/", "metadata.example resolves to 169.254.169.254, which is a cloud metadata"),
        ("https://intranet.example/", "intranet.example resolves to 10.0.0.1, which is a private address"),
        ("https://rebind.example/", "rebind.example resolves to 10.0.0.1, which is a private address"),
        ("https://nowhere.example/", "nowhere.example does not resolve"),
        ("ftp://shop.example/", "must start with https://"),
        ("https://user:pw@shop.example/", "must not carry credentials"),
    ],
)
def test_unsafe_urls_are_refused_with_a_clear_reason(url, problem):
    sender = sender_resolving(
        {
            "loopback.example": ["127.0.0.1"],
            "metadata.example": ["169.254.169.254"],
            "intranet.example": ["10.0.0.1"],
            "rebind.example": ["93.184.216.34", "10.0.0.1"],  # one bad answer among good ones is enough
            "shop.example": ["93.184.216.34"],
        }
    )
    with pytest.raises(UnsafeUrl, match=problem.replace("(", r"\(").replace(".", r"\.")):
        asyncio.run(sender.checked_address(url))


def test_a_public_name_passes_and_the_checked_address_is_the_one_used():
    sender = sender_resolving({"shop.example": ["93.184.216.34"]})
    assert asyncio.run(sender.checked_address("https://shop.example/hooks")) == "93.184.216.34"
    loopback_allowed = sender_resolving({"localhost": ["127.0.0.1"]}, allow_loopback=True)
    assert asyncio.run(loopback_allowed.checked_address("http://localhost:9000/h")) == "127.0.0.1"


def test_endpoints_get_their_subscribed_types_and_regions_only():
    endpoint = webhooks.Endpoint(
        endpoint_id="ep",
        partner_id="p",
        url="https://x.example",
        event_types=["ekspora.registry.product.export_ready.v1"],
        regions=["kota-kediri"],
        secrets=[webhooks.EndpointSecret(secret=SECRET)],
        created_at=NOW,
    )
    assert endpoint.wants("ekspora.registry.product.export_ready.v1", "kota-kediri")
    assert not endpoint.wants("ekspora.registry.product.export_ready.v1", "blitar")
    assert not endpoint.wants("ekspora.matching.match.proposed.v1", "kota-kediri")


def test_rotated_out_secrets_stop_signing_when_they_expire():
    old = webhooks.EndpointSecret(secret=SECRET, expires_at=NOW + timedelta(hours=1))
    endpoint = webhooks.Endpoint(
        endpoint_id="ep",
        partner_id="p",
        url="https://x.example",
        event_types=[],
        regions=[],
        secrets=[webhooks.EndpointSecret(secret="whsec_bmV3"), old],
        created_at=NOW,
    )
    assert endpoint.valid_secrets(NOW) == ["whsec_bmV3", SECRET]
    assert endpoint.valid_secrets(NOW + timedelta(hours=2)) == ["whsec_bmV3"]


def test_the_webhook_catalogue_names_only_known_event_types():
    from ekspora_contracts.catalog import EVENT_TYPES

    catalogue = webhooks.Catalogue()
    assert set(catalogue.audiences) <= set(EVENT_TYPES)
    assert catalogue.audiences["ekspora.registry.product.export_ready.v1"] == "everyone"
    assert catalogue.unknown(["ekspora.registry.contact.changed.v1"]) == ["ekspora.registry.contact.changed.v1"]


def test_each_delivery_checks_again_so_a_name_that_now_resolves_inside_is_never_called():
    """DNS rebinding: the name was public at registration; at delivery it points inside."""
    answers = {"shop.example": ["93.184.216.34"]}
    sender = sender_resolving(answers)
    assert asyncio.run(sender.checked_address("https://shop.example/hook")) == "93.184.216.34"
    answers["shop.example"] = ["169.254.169.254"]
    attempt = asyncio.run(sender.post("https://shop.example/hook", {}, b"{}"))
    assert attempt.status is None and attempt.address == ""
    assert "cloud metadata" in attempt.error
