"""People's accounts as use cases: created by an admin (or a region's machine token), signed in with
a password, disabled, given a new password; each sign-in gets an access token like a partner's."""

import asyncio
import logging
import secrets
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pymongo.errors import DuplicateKeyError

from ekspora_contracts.envelope import EventData
from ekspora_identity import people
from ekspora_identity.service import IdentityService
from ekspora_identity.store import IdentityStore
from ekspora_kit import aggregates
from ekspora_kit.domain import NotFound, NotPermitted
from ekspora_kit.events import envelopes
from ekspora_kit.tokens import Access, Claims

logger = logging.getLogger(__name__)
HASHER = PasswordHasher()  # argon2id with the library's current parameters (RFC 9106's second choice)
# an unknown address costs a hash like a known one, so timing does not tell which addresses have accounts
UNKNOWN = HASHER.hash(secrets.token_urlsafe(16))


class AlreadyRegistered(Exception):
    """The address has an account already."""


class SignInRefused(Exception):
    def __init__(self, outcome: str, retry_after_seconds: int = 0) -> None:
        super().__init__(outcome)
        self.outcome, self.retry_after_seconds = outcome, retry_after_seconds


def _matches(hashed: str, password: str) -> bool:
    try:
        return HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(HASHER.hash, password)  # tens of milliseconds of CPU: off the event loop


class Accounts:
    def __init__(
        self, store: IdentityStore, identity: IdentityService, sign_in_lasts: timedelta = timedelta(hours=12)
    ) -> None:
        self.store, self.identity, self.sign_in_lasts = store, identity, sign_in_lasts

    @property
    def now(self) -> datetime:
        return self.identity.clock.now()

    def _events(self, events: list[EventData]) -> list:
        return envelopes(events, region="global", producer="identity", time=self.now, causation_id=None)

    async def create(self, command: people.NewPerson, by: Access) -> people.Person:
        people.may_manage(by, command.role, command.regions)
        hashed = await hash_password(command.password.get_secret_value())
        person = people.new_person(command, hashed, uuid4().hex, by.actor, self.now)
        try:
            return await self.store.add_person(person)
        except DuplicateKeyError:
            raise AlreadyRegistered(f"{person.email} has an account already") from None

    async def visible_to(self, by: Access, email: str | None = None) -> list[people.Person]:
        """An admin sees every account; a region's machine token its region's; an operator its
        regions' mentors. Only the one with `email`, when given."""
        everyone = await self.store.all_people()
        if email is not None:
            everyone = [person for person in everyone if person.email == people.normalized(email)]
        if by.role == people.Role.ADMIN:
            return everyone
        people.may_manage(by, people.Role.MENTOR, list(by.regions))
        return [
            person
            for person in everyone
            if set(person.regions) & set(by.regions) and (by.machine or person.role is people.Role.MENTOR)
        ]

    async def get(self, person_id: str, by: Access) -> people.Person:
        person = await self.store.person(person_id)
        if person is None or not self._manages(by, person):
            raise NotFound(f"no account {person_id}")
        return person

    def _manages(self, by: Access, person: people.Person) -> bool:
        try:
            people.may_manage(by, person.role, person.regions)
        except NotPermitted:
            return by.actor == person.subject
        return True

    async def disable(self, person_id: str, by: Access) -> people.Person:
        await self.get(person_id, by)

        async def save(person: people.Person, decided: tuple) -> people.Person:
            disabled, event = decided
            return await self.store.save_person(disabled, person.version, self._events([event]))

        current, saved = await aggregates.change(
            lambda: self._load(person_id), lambda p: people.disable(p, self.now), save, what=f"account {person_id}"
        )
        return saved or current

    async def set_password(self, person_id: str, current_password: str | None, password: str, by: Access) -> None:
        """A person changes their own (knowing the current one); an admin resets anyone's."""
        person = await self.get(person_id, by)
        if by.actor == person.subject and not _matches(person.password_hash, current_password or ""):
            raise SignInRefused("wrong_password")
        hashed, credential_id = await hash_password(password), uuid4().hex

        async def save(person: people.Person, decided: tuple) -> people.Person:
            changed, event = decided
            return await self.store.save_person(changed, person.version, self._events([event]))

        await aggregates.change(
            lambda: self._load(person_id),
            lambda p: people.new_password(p, hashed, credential_id, self.now),
            save,
            what=f"account {person_id}",
        )

    async def _load(self, person_id: str) -> people.Person:
        if (person := await self.store.person(person_id)) is None:
            raise NotFound(f"no account {person_id}")
        return person

    async def sign_in(self, email: str, password: str) -> tuple[people.Person, str]:
        """The person and an access token; SignInRefused (wrong, locked or disabled) otherwise."""
        person = await self.store.person(people.person_id(email))
        matches = await asyncio.to_thread(_matches, person.password_hash if person else UNKNOWN, password)
        if person is None:
            raise SignInRefused("wrong_password")

        now = self.now
        tried: list[tuple[people.Person, people.SignIn]] = []

        def attempt(current: people.Person) -> people.Person | None:
            tried.append(people.sign_in(current, matches, now))
            after = tried[-1][0]
            return None if after == current else after

        async def save(current: people.Person, after: people.Person) -> people.Person:
            return await self.store.save_person(after, current.version, [])

        await aggregates.change(lambda: self._load(person.person_id), attempt, save, what=f"account {person.person_id}")
        after, outcome = tried[-1]
        if outcome != "signed_in":
            wait = int((after.locked_until - now).total_seconds()) + 1 if after.locked_until else 0
            logger.info("sign-in of %s refused: %s", person.person_id, outcome)
            raise SignInRefused(outcome, wait if outcome == "locked" else 0)
        claims = people.person_claims(after, str(uuid4()), now, self.identity.token_ttl)
        return after, self.identity.sign(claims)

    async def renew(self, claims: Claims) -> tuple[people.Person, str]:
        """A fresh token for a person still signed in; SignInRefused("renewal_refused") otherwise."""
        person_id = claims.subject.removeprefix("person:")
        person = await self.store.person(person_id) if claims.subject.startswith("person:") else None
        signed_in_at = datetime.fromtimestamp(claims.signed_in_at, UTC) if claims.signed_in_at is not None else None
        refused = people.renewal_refused(person, claims.key_id, signed_in_at, self.now, self.sign_in_lasts)
        if person is None or refused:
            logger.info("renewal for %s refused: %s", claims.subject, refused)
            raise SignInRefused("renewal_refused")
        token = people.person_claims(person, str(uuid4()), self.now, self.identity.token_ttl, signed_in_at)
        return person, self.identity.sign(token)
