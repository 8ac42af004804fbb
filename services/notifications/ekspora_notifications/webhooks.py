"""Standard Webhooks to partner systems: secrets, signatures, bodies, retry timing, audiences and
the addresses a delivery may never reach. Pure: no I/O; randomness and clocks are arguments.

https://www.standardwebhooks.com — the body is `{type, timestamp, data}`; each delivery carries
`webhook-id`, `webhook-timestamp` and `webhook-signature` (`v1,<base64 HMAC-SHA256>` of
`id.timestamp.body`, space-separated when a rotation leaves two secrets valid).
"""

import base64
import hashlib
import hmac
import ipaddress
import json
import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field

from ekspora_contracts.envelope import CloudEvent

SECRET_PREFIX = "whsec_"
CATALOGUE_FILE = Path(__file__).parent / "data" / "webhook_events.yaml"
Audience = Literal["everyone", "own"]
METADATA_ADDRESSES = {
    ipaddress.ip_address(address)
    for address in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
}


class EndpointSecret(BaseModel):
    model_config = ConfigDict(extra="forbid")

    secret: str
    expires_at: datetime | None = Field(default=None, description="Set on the old secret during a rotation")


class Endpoint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    endpoint_id: str
    partner_id: str
    url: str
    event_types: list[str]
    regions: list[str] = Field(description="Regions whose events it receives; empty means all")
    description: str = ""
    enabled: bool = True
    disabled_reason: str = ""
    secrets: list[EndpointSecret]
    failing_since: datetime | None = None
    created_at: datetime

    def wants(self, event_type: str, region: str) -> bool:
        return event_type in self.event_types and (not self.regions or region in self.regions)

    def valid_secrets(self, now: datetime) -> list[str]:
        return [s.secret for s in self.secrets if s.expires_at is None or s.expires_at > now]


class Catalogue:
    """The event types partner systems may subscribe to, from a data file, each with its audience:
    `everyone` (any subscribed partner) or `own` (only the partner the event concerns)."""

    def __init__(self, path: Path = CATALOGUE_FILE) -> None:
        self.audiences: dict[str, Audience] = yaml.safe_load(path.read_text())["events"]

    def unknown(self, event_types: list[str]) -> list[str]:
        return [t for t in event_types if t not in self.audiences]


def new_secret(random_bytes: bytes) -> str:
    if not 24 <= len(random_bytes) <= 64:
        raise ValueError("a webhook secret is 24 to 64 random bytes")
    return SECRET_PREFIX + base64.b64encode(random_bytes).decode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(secrets: list[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(sign(secret, message_id, timestamp, body) for secret in secrets),
        "content-type": "application/json",
    }


def body(event: CloudEvent) -> str:
    payload = {"type": event.type, "timestamp": event.time.isoformat(), "data": event.data.model_dump(mode="json")}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def message_id(event_id: str) -> str:
    """One id per event, the same on every endpoint and every replay, so receivers can de-duplicate."""
    return f"msg_{event_id}"


Outcome = Literal["delivered", "gone", "retry"]


def classify(status: int | None) -> Outcome:
    """Only a 2xx counts; 410 Gone disables the endpoint; anything else (or no answer) is retried."""
    if status is not None and 200 <= status < 300:
        return "delivered"
    return "gone" if status == 410 else "retry"


def next_attempt_at(
    *,
    attempts_made: int,
    schedule: list[float],
    now: datetime,
    retry_after: float | None,
    jitter: float,
    rng: random.Random,
) -> datetime | None:
    """When to try again after `attempts_made` failed attempts, or None when the schedule is spent.

    `schedule[k]` is the delay before attempt k+1 (the first is 0: at once). A Retry-After the
    endpoint sent lengthens the delay, never shortens it. Jitter spreads retries of many
    deliveries that failed together."""
    if attempts_made >= len(schedule):
        return None
    delay = schedule[attempts_made] * (1 + rng.uniform(-jitter, jitter))
    if retry_after is not None:
        delay = max(delay, retry_after)
    return now + timedelta(seconds=delay)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date; None if absent or unreadable."""
    if not value:
        return None
    if (seconds := value.strip()).isascii() and seconds.isdigit():
        return float(seconds)
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError):
        return None


NAT64_PREFIXES = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def ipv4_embedding(ip: ipaddress.IPv6Address) -> str | None:
    """The IPv6 forms that carry an IPv4 address a router or the host may reach (127.0.0.1 as
    ::ffff:7f00:1, 2002:7f00:1::, a Teredo client or 64:ff9b::7f00:1): refused whatever they carry."""
    if ip.ipv4_mapped is not None:
        return "IPv4-mapped"
    if ip.sixtofour is not None:
        return "6to4"
    if ip.teredo is not None:
        return "Teredo"
    if any(ip in prefix for prefix in NAT64_PREFIXES):
        return "NAT64"
    return None


def blocked_kind(address: str, *, allow_loopback: bool) -> str | None:
    """Why a delivery may never go to `address`, or None when it is a public address."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and (embedding := ipv4_embedding(ip)):
        return embedding
    if ip in METADATA_ADDRESSES:
        return "cloud metadata"
    if ip.is_loopback:
        return None if allow_loopback else "loopback"
    for kind, flagged in (
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("private", ip.is_private),
        ("reserved", ip.is_reserved),
    ):
        if flagged:
            return kind
    return None if ip.is_global else "non-public"


def url_problem(url: str) -> str | None:
    """What is wrong with an endpoint URL before any lookup, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return "the URL must start with https:// (or http://)"
    if not parts.hostname:
        return "the URL has no host"
    if parts.username or parts.password:
        return "the URL must not carry credentials; the signature authenticates deliveries"
    if parts.fragment:
        return "the URL must not have a #fragment"
    return None


def unsafe_addresses(host: str, addresses: list[str], *, allow_loopback: bool) -> str | None:
    """Every address `host` resolves to must be public; a reason when any is not."""
    if not addresses:
        return f"{host} does not resolve"
    for address in addresses:
        kind = blocked_kind(address, allow_loopback=allow_loopback)
        if kind:
            named = host if host == address else f"{host} resolves to {address}, which"
            return f"{named} is a {kind} address; webhooks go only to public addresses"
    return None
