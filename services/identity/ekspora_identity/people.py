"""The people who sign in, without I/O: their accounts (a role and the regions they cover, or the
partner they belong to), who may create them, sign-in with its throttle, and the claims of the
access tokens issued to them.

A person's tokens name a credential id that changes with every password and is revoked when the
account is disabled or the password changed, so the tokens issued before stop working everywhere
within seconds, as a partner's revoked API key does.
"""

import hashlib
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator

from ekspora_contracts.envelope import Region
from ekspora_contracts.identity import CredentialRevoked
from ekspora_kit.domain import Invalid, Model, NotAllowed, NotPermitted
from ekspora_kit.inputs import Line
from ekspora_kit.tokens import AUDIENCE, ISSUER, PERSON_ID_PATTERN, Access

FAILURES_BEFORE_LOCK = 5
LOCKED_FOR = timedelta(minutes=15)
EMAIL_PATTERN = r"^[^@\s]{1,64}@[A-Za-z0-9.-]{1,180}\.[A-Za-z]{2,24}$"
ID_PATTERN = PERSON_ID_PATTERN


class Role(StrEnum):
    OPERATOR = "operator"  # acts in its regions
    VIEWER = "viewer"  # reads its regions (Kadin, Bank Indonesia, the city government)
    ADMIN = "admin"  # manages accounts; acts in the regions it is given
    PARTNER_USER = "partner_user"  # one partner's person
    MENTOR = "mentor"  # reads its regions; coaches the incubation cohorts it mentors (the registry knows which)


Locale = Literal["id", "en", "nl"]


class NewPerson(Model):
    email: str = Field(pattern=EMAIL_PATTERN, max_length=254, examples=["sari@kedirikota.go.id"])
    name: Line = Field(min_length=2, max_length=120)
    role: Role
    regions: list[Region] = Field(default_factory=list, max_length=50)
    partner_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9-]{1,40}$")
    locale: Locale = "id"
    password: SecretStr = Field(min_length=12, max_length=128, description="At least 12 characters")

    @model_validator(mode="after")
    def _fits_role(self) -> "NewPerson":
        check_shape(self.role, self.regions, self.partner_id)
        return self


class Person(Model):
    """A person's account (an aggregate: saved against the version read)."""

    person_id: str
    email: str
    name: str
    role: Role
    regions: list[str]
    partner_id: str | None
    locale: Locale
    password_hash: str
    credential_id: str
    created_at: datetime
    created_by: str
    disabled_at: datetime | None = None
    failed_signins: int = 0
    locked_until: datetime | None = None
    version: int = 0

    @property
    def subject(self) -> str:
        return f"person:{self.person_id}"


def check_shape(role: Role, regions: list[str], partner_id: str | None) -> None:
    if role is Role.PARTNER_USER:
        if not partner_id or regions:
            raise Invalid("a partner user belongs to one partner (partner_id) and covers no region", field="partner_id")
    elif partner_id:
        raise Invalid(f"a {role.value} belongs to no partner", field="partner_id")
    elif role in (Role.OPERATOR, Role.VIEWER, Role.MENTOR) and not regions:
        raise Invalid(f"a {role.value} covers at least one region", field="regions")


def person_id(email: str) -> str:
    """One account per address: the id is derived from it, so a second account for it is a duplicate
    key, and the address itself stays out of ids, tokens and change records."""
    return "psn-" + hashlib.sha256(normalized(email).encode()).hexdigest()[:16]


def normalized(email: str) -> str:
    return email.strip().lower()


def may_manage(manager: Access, role: Role, regions: list[str]) -> None:
    """An admin manages every account; an operator's machine token (the deployment's own, from
    configuration) manages its region's people; an operator the mentors of its regions' cohorts; any
    other person manages none."""
    if manager.role == Role.ADMIN:
        return
    if manager.role == Role.OPERATOR and (manager.machine or role is Role.MENTOR):
        outside = sorted(set(regions) - set(manager.regions))
        if role is Role.ADMIN or outside:
            raise NotPermitted(
                f"the operator token of {', '.join(manager.regions)} cannot create "
                + ("an admin" if role is Role.ADMIN else f"accounts for {', '.join(outside)}")
            )
        return
    raise NotPermitted("only an admin manages accounts (an operator, its regions' mentors)")


def new_person(command: NewPerson, password_hash: str, credential_id: str, created_by: str, now: datetime) -> Person:
    return Person(
        person_id=person_id(command.email),
        email=normalized(command.email),
        name=command.name,
        role=command.role,
        regions=sorted(set(command.regions)),
        partner_id=command.partner_id,
        locale=command.locale,
        password_hash=password_hash,
        credential_id=credential_id,
        created_at=now,
        created_by=created_by,
    )


SignIn = Literal["signed_in", "wrong_password", "locked", "disabled"]


def sign_in(person: Person, password_matches: bool, now: datetime) -> tuple[Person, SignIn]:
    """The account after a sign-in attempt and how it went: FAILURES_BEFORE_LOCK wrong passwords in a
    row lock it for LOCKED_FOR (online guessing, per account); a disabled account never signs in."""
    if person.disabled_at is not None:
        return person, "disabled"
    if person.locked_until is not None and person.locked_until > now:
        return person, "locked"
    if not password_matches:
        failed = person.failed_signins + 1
        locked = now + LOCKED_FOR if failed >= FAILURES_BEFORE_LOCK else None
        return person.model_copy(update={"failed_signins": 0 if locked else failed, "locked_until": locked}), (
            "locked" if locked else "wrong_password"
        )
    return person.model_copy(update={"failed_signins": 0, "locked_until": None}), "signed_in"


def disable(person: Person, now: datetime) -> tuple[Person, CredentialRevoked] | None:
    """The account disabled, and the event that makes every service refuse its tokens; None when it is."""
    if person.disabled_at is not None:
        return None
    revoked = credential_revoked(person, now)
    return person.model_copy(update={"disabled_at": now}), revoked


def new_password(
    person: Person, password_hash: str, credential_id: str, now: datetime
) -> tuple[Person, CredentialRevoked]:
    """A new password: the tokens issued under the old one are revoked, as a leaked one's should be."""
    if person.disabled_at is not None:
        raise NotAllowed("the account is disabled")
    revoked = credential_revoked(person, now)
    changed = person.model_copy(
        update={
            "password_hash": password_hash,
            "credential_id": credential_id,
            "failed_signins": 0,
            "locked_until": None,
        }
    )
    return changed, revoked


def credential_revoked(person: Person, now: datetime) -> CredentialRevoked:
    return CredentialRevoked(
        key_id=person.credential_id, partner_id=person.partner_id or "", region="global", revoked_at=now
    )


def person_claims(
    person: Person, token_id: str, now: datetime, ttl: timedelta, signed_in_at: datetime | None = None
) -> dict[str, Any]:
    return {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": person.subject,
        "name": person.name,
        "role": person.role.value,
        "regions": person.regions,
        "partner_id": person.partner_id,
        "locale": person.locale,
        "key": person.credential_id,
        "jti": token_id,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "auth_time": int((signed_in_at or now).timestamp()),
    }


def renewal_refused(
    person: Person | None, key: str | None, signed_in_at: datetime | None, now: datetime, longest: timedelta
) -> str | None:
    """Why a signed-in person's token may not be renewed (None: it may): the account is gone or
    disabled, its password changed since, or the sign-in is older than `longest` (then sign in again)."""
    if person is None or person.disabled_at is not None:
        return "the account is disabled"
    if key != person.credential_id:
        return "the password changed since this sign-in"
    if signed_in_at is None or now - signed_in_at > longest:
        return "the sign-in is too old: sign in again"
    return None
