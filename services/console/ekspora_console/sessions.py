"""Who is signed in: a session per sign-in, in the console's own store. The browser holds only a
random session secret (an HTTP-only, SameSite=Strict cookie); the store keys the session by the
secret's SHA-256, so a copy of the store signs nobody in. A session holds the person's access token
from identity, renewed while the person works (identity bounds a sign-in's life), and ends when the
token does, or at sign-out."""

import hashlib
import hmac
import secrets
from datetime import datetime

from pydantic import BaseModel
from pymongo.asynchronous.database import AsyncDatabase

from ekspora_kit.clock import Clock


class Person(BaseModel):
    person_id: str
    name: str
    role: str
    regions: list[str]
    partner_id: str | None
    locale: str

    @property
    def of_the_regions(self) -> bool:
        return self.role in ("operator", "viewer", "admin", "mentor")

    @property
    def acts(self) -> bool:
        """Changes what its role lets it (a partner's person, its proposals); a mentor only coaches."""
        return self.role not in ("viewer", "mentor")

    @property
    def coaches(self) -> bool:
        """Takes attendance and records milestones (the registry checks a mentor's cohort is theirs)."""
        return self.role in ("operator", "admin", "mentor")


class Session(BaseModel):
    person: Person
    token: str
    csrf: str
    language: str
    expires_at: datetime

    def csrf_matches(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(self.csrf.encode(), presented.encode())


def _key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class Sessions:
    def __init__(self, db: AsyncDatabase, clock: Clock) -> None:
        self.collection, self.clock = db["sessions"], clock

    async def open(self, person: Person, token: str, expires_at: datetime) -> str:
        """A new session; returns the secret for the cookie (never stored as such)."""
        secret = secrets.token_urlsafe(32)
        session = Session(
            person=person, token=token, csrf=secrets.token_urlsafe(32), language=person.locale, expires_at=expires_at
        )
        await self.collection.insert_one({"_id": _key(secret), **session.model_dump()})
        return secret

    async def find(self, secret: str | None) -> Session | None:
        if not secret:
            return None
        document = await self.collection.find_one({"_id": _key(secret)})
        if document is None:
            return None
        session = Session.model_validate({k: v for k, v in document.items() if k != "_id"})
        if session.expires_at <= self.clock.now():
            await self.close(secret)
            return None
        return session

    async def renewed(self, secret: str, token: str, expires_at: datetime) -> None:
        await self.collection.update_one({"_id": _key(secret)}, {"$set": {"token": token, "expires_at": expires_at}})

    async def set_language(self, secret: str, language: str) -> None:
        await self.collection.update_one({"_id": _key(secret)}, {"$set": {"language": language}})

    async def close(self, secret: str) -> None:
        await self.collection.delete_one({"_id": _key(secret)})

    async def purge_expired(self) -> int:
        ended = await self.collection.delete_many(
            {"expires_at": {"$lte": self.clock.now()}}, comment="scan: ended sessions, a few hundred at most"
        )
        return ended.deleted_count
