"""Every database call of the identity service lives here."""

from collections.abc import Sequence
from datetime import datetime

from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase

from ekspora_contracts.envelope import CloudEvent
from ekspora_identity.domain import PartnerKeys
from ekspora_identity.people import Person
from ekspora_kit.aggregates import VersionedStore
from ekspora_kit.documents import keep_newest


class SigningKey(BaseModel):
    """The key tokens are signed with. Its private half never leaves this store (or the secret it
    came from); the public half is published to every service."""

    kid: str
    private_key_pem: str
    public_key_pem: str
    created_at: datetime
    version: int = 0


class KnownPartner(BaseModel):
    partner_id: str
    version: int
    name: str
    verified: bool


class IdentityStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.credentials = db["credentials"]
        self.signing_keys = db["signing_keys"]
        self.partners = db["partners"]
        self.keys = VersionedStore(self.credentials, PartnerKeys)
        self.signing = VersionedStore(self.signing_keys, SigningKey)
        self.people = VersionedStore(db["people"], Person)

    async def ensure_indexes(self) -> None:
        await self.keys.log.ensure_indexes()
        await self.signing.log.ensure_indexes()
        await self.people.log.ensure_indexes()

    async def keep_partner(self, partner: KnownPartner) -> bool:
        return await keep_newest(self.partners, partner.partner_id, partner.model_dump())

    async def partner(self, partner_id: str) -> KnownPartner | None:
        document = await self.partners.find_one({"_id": partner_id})
        return KnownPartner.model_validate({k: v for k, v in document.items() if k != "_id"}) if document else None

    async def partner_keys(self, partner_id: str) -> PartnerKeys | None:
        return await self.keys.get(partner_id)

    async def save_keys(self, keys: PartnerKeys, expected: int | None, events: Sequence[CloudEvent]) -> PartnerKeys:
        return await self.keys.save(keys.partner_id, keys, expected, events)

    async def signing_key(self, name: str) -> SigningKey | None:
        return await self.signing.get(name)

    async def add_signing_key(self, name: str, key: SigningKey, events: Sequence[CloudEvent]) -> SigningKey:
        """Stores the key under `name`; raises DuplicateKeyError when another instance did first."""
        return await self.signing.insert(name, key, events)

    async def person(self, person_id: str) -> Person | None:
        return await self.people.get(person_id)

    async def all_people(self) -> list[Person]:
        cursor = self.people.collection.find({}, comment="scan: accounts are listed for an admin, tens of them")
        return sorted([self.people.parse(document) async for document in cursor], key=lambda person: person.email)

    async def add_person(self, person: Person) -> Person:
        """Raises DuplicateKeyError when the address has an account already."""
        return await self.people.insert(person.person_id, person, [])

    async def save_person(self, person: Person, expected: int, events: Sequence[CloudEvent]) -> Person:
        return await self.people.replace(person.person_id, person, expected, events)
