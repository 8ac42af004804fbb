"""Access tokens: issued by the identity service alone, verified by every service on its own.

A token is a JWT signed with ES256 by identity's private key. Every service learns identity's public
keys, and every revoked credential, from the compacted `identity.keys` topic, which only identity
may write and which each instance reads whole at start, then follows: so a service verifies a
token without asking anyone, and a revocation reaches it within the time one event takes to cross
the bus. No secret, and no hash of one, travels on the bus.
"""

import logging
from dataclasses import dataclass
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from ekspora_contracts.envelope import CloudEvent
from ekspora_contracts.identity import CredentialRevoked, SigningKeyPublished
from ekspora_kit.clock import Clock

logger = logging.getLogger(__name__)
ISSUER = "ekspora-identity"
AUDIENCE = "ekspora"
ALGORITHM: Literal["ES256"] = "ES256"
LEEWAY_SECONDS = 30  # clocks of two machines differ a little


class TokenRefused(Exception):
    """Not a token identity issued, not any more, or not for this platform."""


PERSON_ID_PATTERN = r"^psn-[0-9a-f]{16}$"  # a person's id (identity's accounts): their subject is person:<id>
OPERATOR_SIDE = frozenset({"operator", "viewer", "admin", "mentor"})  # people of the regions, not of a partner
PARTNER_SIDE = frozenset({"partner", "partner_user"})  # a partner's system, or one of its people


@dataclass(frozen=True)
class Claims:
    subject: str  # partner:<partner id> for a partner's system, person:<person id> for a person
    role: str  # operator | viewer | admin | mentor | partner | partner_user
    partner_id: str | None
    key_id: str | None
    regions: tuple[str, ...] = ()
    name: str = ""
    signed_in_at: int | None = None  # a person's sign-in (unix seconds), which renewed tokens keep

    @property
    def actor(self) -> str:
        return f"{self.subject}/key:{self.key_id}" if self.key_id and self.role == "partner" else self.subject


@dataclass(frozen=True)
class Access:
    """Who calls an operator's route, as every service sees it: a person of the regions (a token from
    identity) or a machine (an operator token from configuration, one region)."""

    actor: str
    role: str
    regions: tuple[str, ...]
    machine: bool = False

    def covers(self, region: str) -> bool:
        return region in self.regions

    @property
    def person_id(self) -> str | None:
        return self.actor.removeprefix("person:") if self.actor.startswith("person:") else None

    def names(self) -> str:
        return ", ".join(self.regions) or "no region"


def looks_like_token(secret: str) -> bool:
    return secret.count(".") == 2 and not secret.startswith("ptk_")


class TokenVerifier:
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.keys: dict[str, EllipticCurvePublicKey] = {}
        self.revoked: set[str] = set()

    async def signing_key_published(self, event: CloudEvent[SigningKeyPublished]) -> None:
        key = load_pem_public_key(event.data.public_key_pem.encode())
        if not isinstance(key, EllipticCurvePublicKey):
            raise ValueError(f"signing key {event.data.kid} is not an EC public key")
        self.keys[event.data.kid] = key

    async def credential_revoked(self, event: CloudEvent[CredentialRevoked]) -> None:
        self.revoked.add(event.data.key_id)
        logger.info("credential %s of partner %s revoked", event.data.key_id, event.data.partner_id)

    def verify(self, token: str) -> Claims:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError as error:
            raise TokenRefused(f"not a token: {error}") from None
        key = self.keys.get(kid or "")
        if key is None:
            raise TokenRefused("signed with a key this service does not know (yet)")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=ISSUER,
                # expiry by the kit's clock (which tests and demos shift), not by PyJWT's wall clock
                options={"require": ["exp", "iat", "sub", "jti"], "verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError as error:
            raise TokenRefused(str(error)) from None
        if claims["exp"] + LEEWAY_SECONDS < self.clock.unix_seconds():
            raise TokenRefused("the token has expired: ask identity for a new one")
        if claims.get("key") in self.revoked:
            raise TokenRefused("the credential this token was issued for is revoked")
        regions = claims.get("regions") or []
        if not isinstance(regions, list) or not all(isinstance(region, str) for region in regions):
            raise TokenRefused("regions is not a list of region slugs")
        return Claims(
            subject=claims["sub"],
            role=claims.get("role", ""),
            partner_id=claims.get("partner_id"),
            key_id=claims.get("key"),
            regions=tuple(regions),
            name=str(claims.get("name", "")),
            signed_in_at=claims["auth_time"] if isinstance(claims.get("auth_time"), int) else None,
        )
