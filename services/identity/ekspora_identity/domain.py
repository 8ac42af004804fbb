"""Identity's rules, without I/O: a partner's API keys (issued, rotated, revoked) and the claims of
the access tokens issued for them.

An API key reads `ptk_<partner id>.<key id>.<secret>`; identity keeps the SHA-256 of the secret only.
A partner has at most MAX_ACTIVE_KEYS at once, so that it can rotate: a new key while the old one
still works, then the old one revoked.
"""

import hashlib
import hmac
import re
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field

from ekspora_contracts.identity import CredentialRevoked
from ekspora_kit.domain import Model, NotAllowed, NotFound
from ekspora_kit.tokens import AUDIENCE, ISSUER

MAX_ACTIVE_KEYS = 3
API_KEY = re.compile(r"^ptk_(?P<partner>[A-Za-z0-9-]{1,40})\.(?P<key>[a-f0-9]{12})\.(?P<secret>[A-Za-z0-9_-]{32,64})$")


class Credential(Model):
    key_id: str
    secret_sha256: str
    label: str = ""
    created_at: datetime
    revoked_at: datetime | None = None


class PartnerKeys(Model):
    """Every API key a partner was ever given (an aggregate: saved against the version read)."""

    partner_id: str
    version: int = 0
    keys: list[Credential] = Field(default_factory=list)

    def active(self) -> list[Credential]:
        return [key for key in self.keys if key.revoked_at is None]


def secret_sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key(partner_id: str, key_id: str, secret: str) -> str:
    return f"ptk_{partner_id}.{key_id}.{secret}"


def parse_api_key(value: str) -> tuple[str, str, str] | None:
    """(partner id, key id, secret) of a well-formed API key, else None."""
    found = API_KEY.fullmatch(value)
    return (found["partner"], found["key"], found["secret"]) if found else None


def issue(
    keys: PartnerKeys | None, partner_id: str, key_id: str, secret: str, label: str, now: datetime
) -> PartnerKeys:
    current = keys or PartnerKeys(partner_id=partner_id)
    if len(current.active()) >= MAX_ACTIVE_KEYS:
        raise NotAllowed(
            f"partner {partner_id} already has {MAX_ACTIVE_KEYS} active keys: revoke one before issuing another"
        )
    credential = Credential(key_id=key_id, secret_sha256=secret_sha256(secret), label=label, created_at=now)
    return current.model_copy(update={"keys": [*current.keys, credential]})


def revoke(keys: PartnerKeys | None, key_id: str, now: datetime) -> tuple[PartnerKeys, CredentialRevoked] | None:
    """The keys with `key_id` revoked and the event that tells every service; None when it already is."""
    found = next((key for key in keys.keys if key.key_id == key_id), None) if keys else None
    if keys is None or found is None:
        raise NotFound(f"no key {key_id}")
    if found.revoked_at is not None:
        return None
    revoked = [key.model_copy(update={"revoked_at": now}) if key is found else key for key in keys.keys]
    event = CredentialRevoked(key_id=key_id, partner_id=keys.partner_id, region="global", revoked_at=now)
    return keys.model_copy(update={"keys": revoked}), event


def authenticate(keys: PartnerKeys | None, key_id: str, secret: str) -> Credential | None:
    """The active credential the secret belongs to, compared in constant time; None otherwise."""
    found = next((key for key in keys.keys if key.key_id == key_id), None) if keys else None
    given = secret_sha256(secret)
    if found is None or not hmac.compare_digest(found.secret_sha256, given) or found.revoked_at is not None:
        return None
    return found


def partner_claims(partner_id: str, key_id: str, token_id: str, now: datetime, ttl: timedelta) -> dict[str, Any]:
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": f"partner:{partner_id}",
        "role": "partner",
        "partner_id": partner_id,
        "key": key_id,
        "jti": token_id,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
