"""Identity's use cases: API keys issued, listed and revoked; access tokens issued for them; the
signing key made (or taken from configuration) and its public half published."""

import asyncio
import hashlib
import logging
import secrets
from datetime import timedelta
from uuid import uuid4

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pymongo.errors import DuplicateKeyError

from ekspora_contracts.envelope import EventData
from ekspora_contracts.identity import SigningKeyPublished
from ekspora_identity import domain
from ekspora_identity.store import IdentityStore, KnownPartner, SigningKey
from ekspora_kit import aggregates
from ekspora_kit.clock import Clock
from ekspora_kit.domain import NotFound
from ekspora_kit.events import envelopes
from ekspora_kit.tokens import ALGORITHM

logger = logging.getLogger(__name__)


class Unknown(Exception):
    """Not a key identity issued, or not any more."""


class IdentityService:
    def __init__(self, store: IdentityStore, *, clock: Clock, token_ttl: timedelta, signing_key_pem: str) -> None:
        self.store, self.clock, self.token_ttl = store, clock, token_ttl
        self.configured_key_pem = signing_key_pem
        self.key: SigningKey | None = None

    def _events(self, events: list[EventData]) -> list:
        return envelopes(events, region="global", producer="identity", time=self.clock.now(), causation_id=None)

    async def prepare_signing_key(self) -> None:
        """The configured key, else the one the first instance made; its public half published once."""
        if self.configured_key_pem:
            private = serialization.load_pem_private_key(self.configured_key_pem.encode(), password=None)
            made = self._signing_key(private)  # type: ignore[arg-type]
            name = made.kid
        else:
            made, name = self._signing_key(ec.generate_private_key(ec.SECP256R1())), "current"
        self.key = await self.store.signing_key(name)
        if self.key is None:
            published = SigningKeyPublished(
                kid=made.kid, region="global", algorithm=ALGORITHM, public_key_pem=made.public_key_pem
            )
            try:
                self.key = await self.store.add_signing_key(name, made, self._events([published]))
            except DuplicateKeyError:  # another instance made it first, and may still be saving it
                self.key = await self._saved_by_another(name)
        assert self.key is not None
        logger.info("signing tokens with key %s", self.key.kid)

    async def _saved_by_another(self, name: str, attempts: int = 50) -> SigningKey:
        """The key another instance is saving: its claim on the change log comes before its document."""
        for _ in range(attempts):
            if (key := await self.store.signing_key(name)) is not None:
                return key
            await asyncio.sleep(0.1)
        raise RuntimeError(f"another instance claimed signing key {name!r} but never saved it")

    def _signing_key(self, private: ec.EllipticCurvePrivateKey) -> SigningKey:
        public = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return SigningKey(
            kid=hashlib.sha256(public).hexdigest()[:16],
            private_key_pem=private.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode(),
            public_key_pem=public.decode(),
            created_at=self.clock.now(),
        )

    async def partner_changed(self, partner: KnownPartner) -> None:
        await self.store.keep_partner(partner)

    async def issue_key(self, partner_id: str, label: str) -> tuple[domain.Credential, str]:
        """A new API key for a partner the platform knows; the key itself is returned once, here."""
        if await self.store.partner(partner_id) is None:
            raise NotFound(f"no partner {partner_id} (yet: a partner registered in matching arrives in seconds)")
        key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)

        async def save(keys: domain.PartnerKeys | None, issued: domain.PartnerKeys) -> domain.PartnerKeys:
            return await self.store.save_keys(issued, keys.version if keys else None, [])

        _, saved = await aggregates.change(
            lambda: self.store.partner_keys(partner_id),
            lambda keys: domain.issue(keys, partner_id, key_id, secret, label, self.clock.now()),
            save,
            what=f"keys of partner {partner_id}",
        )
        assert saved is not None  # issue always decides a change
        credential = next(key for key in saved.keys if key.key_id == key_id)
        return credential, domain.api_key(partner_id, key_id, secret)

    async def keys_of(self, partner_id: str) -> list[domain.Credential]:
        keys = await self.store.partner_keys(partner_id)
        return keys.keys if keys else []

    async def revoke_key(self, partner_id: str, key_id: str) -> domain.Credential:
        async def save(keys: domain.PartnerKeys, decided: tuple) -> domain.PartnerKeys:
            revoked, event = decided
            return await self.store.save_keys(revoked, keys.version, self._events([event]))

        async def load() -> domain.PartnerKeys:
            if (keys := await self.store.partner_keys(partner_id)) is None:
                raise NotFound(f"no key {key_id}")
            return keys

        current, saved = await aggregates.change(
            load, lambda keys: domain.revoke(keys, key_id, self.clock.now()), save, what=f"keys of {partner_id}"
        )
        return next(key for key in (saved or current).keys if key.key_id == key_id)

    async def token(self, presented: str) -> str:
        """An access token for a valid API key; Unknown otherwise."""
        parsed = domain.parse_api_key(presented)
        if parsed is None:
            raise Unknown("not an API key identity issued")
        partner_id, key_id, secret = parsed
        if domain.authenticate(await self.store.partner_keys(partner_id), key_id, secret) is None:
            raise Unknown("unknown or revoked API key")
        return self.sign(domain.partner_claims(partner_id, key_id, str(uuid4()), self.clock.now(), self.token_ttl))

    def sign(self, claims: dict) -> str:
        assert self.key is not None, "prepare_signing_key runs at start-up"
        return jwt.encode(claims, self.key.private_key_pem, algorithm=ALGORITHM, headers={"kid": self.key.kid})
