"""Authentication shared by the services. People (operators, viewers, admins, partner users) and
partners' systems present an access token the identity service issued (ekspora_kit.tokens): a
person's carries its role and regions, or its partner. Machines of the deployment (the demo,
scripts) may instead hold an operator token per region from configuration. Whoever it is, it is
recorded as acting (ekspora_kit.logs), so every change says who made it."""

import hmac
from functools import cache
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ekspora_kit.http import ApiError, Unprocessable
from ekspora_kit.logs import acting
from ekspora_kit.settings import parse_operator_tokens
from ekspora_kit.tokens import OPERATOR_SIDE, PARTNER_SIDE, Access, Claims, TokenRefused, looks_like_token


class Unauthorized(ApiError):
    status_code = 401


class Forbidden(ApiError):
    status_code = 403


BEARER = HTTPBearer(
    auto_error=False,  # a missing token is answered as every other refusal is (ekspora_kit.http)
    scheme_name="bearer",
    description="An access token from identity (`POST /token` with a partner's API key, `POST /sign-in` for a"
    " person), or a machine's operator token, which is per region",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]


def bearer(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or not credentials.credentials.strip():
        raise Unauthorized("send Authorization: Bearer <token>")
    return credentials.credentials.strip()


@cache
def operator_tokens(setting: str) -> dict[str, str]:
    return parse_operator_tokens(setting)


def operator_region(setting: str, secret: str) -> str | None:
    """The region whose operator token `secret` is, comparing with every token in constant time."""
    found = None
    for token, region in operator_tokens(setting).items():
        if hmac.compare_digest(token.encode(), secret.encode()):
            found = region
    return found


READING = frozenset({"GET", "HEAD", "OPTIONS"})


def verified(request: Request, secret: str) -> Claims:
    if not looks_like_token(secret):
        raise Unauthorized("unknown operator token; people and partners send an access token from identity")
    try:
        claims: Claims = request.app.state.runtime.verifier.verify(secret)
    except TokenRefused as refused:
        raise Unauthorized(f"token refused: {refused}") from None
    return claims


READ_ONLY = {
    "viewer": "a viewer reads; changes are made by the region's operators",
    "mentor": "a mentor reads, and coaches the cohorts they mentor; other changes are made by operators",
}


def person_of_the_regions(request: Request, claims: Claims, coaching: bool = False) -> Access:
    """A viewer reads and never changes anything, whatever the route; a mentor changes only what a
    coaching route lets it (which checks the cohort is theirs)."""
    coach = coaching and claims.role == "mentor"
    if claims.role in READ_ONLY and request.method not in READING and not coach:
        raise Forbidden(READ_ONLY[claims.role])
    return Access(actor=claims.actor, role=claims.role, regions=claims.regions)


def machine(request: Request, secret: str) -> Access | None:
    region = operator_region(request.app.state.runtime.settings.operator_tokens, secret)
    return (
        None if region is None else Access(actor=f"operator:{region}", role="operator", regions=(region,), machine=True)
    )


async def _of_the_regions(request: Request, credentials: HTTPAuthorizationCredentials | None, coaching: bool) -> Access:
    secret = bearer(credentials)
    access = machine(request, secret)
    if access is None:
        claims = verified(request, secret)
        if claims.role not in OPERATOR_SIDE:
            raise Forbidden("operators only")
        access = person_of_the_regions(request, claims, coaching)
    acting.set(access.actor)
    return access


async def calling_operator(request: Request, credentials: Credentials) -> Access:
    """The calling person of the regions (or machine), or 401/403."""
    return await _of_the_regions(request, credentials, coaching=False)


async def calling_coach(request: Request, credentials: Credentials) -> Access:
    """As calling_operator, and a mentor too: the route checks the mentor coaches what it changes."""
    return await _of_the_regions(request, credentials, coaching=True)


Operator = Annotated[Access, Depends(calling_operator)]
Coach = Annotated[Access, Depends(calling_coach)]


async def calling_party(request: Request, credentials: Credentials) -> tuple[Access | None, Any]:
    """(access, None) for a person of the regions or a machine, (None, partner) for a partner's system
    or person, the partner as the service knows it (`app.state.partner_by_id`); 401 otherwise."""
    secret = bearer(credentials)
    if (access := machine(request, secret)) is not None:
        acting.set(access.actor)
        return access, None
    claims = verified(request, secret)
    if claims.role in OPERATOR_SIDE:
        access = person_of_the_regions(request, claims)
        acting.set(access.actor)
        return access, None
    if claims.role not in PARTNER_SIDE or not claims.partner_id:
        raise Unauthorized("neither a person of the regions nor a partner")
    if (partner := await request.app.state.partner_by_id(claims.partner_id)) is None:
        raise Unauthorized(f"partner {claims.partner_id} is not known here (yet)")
    acting.set(claims.actor)
    return None, partner


OperatorOrPartner = Annotated[tuple[Access | None, Any], Depends(calling_party)]


def region_asked(access: Access, asked: str | None) -> str:
    """The region a list is for: the one asked, if the caller covers it, else the caller's only one."""
    if asked is not None:
        if not access.covers(asked):
            raise Forbidden(f"you act for {access.names()}, not {asked}", field="region")
        return asked
    if len(access.regions) != 1:
        raise Unprocessable(f"give region: you cover {access.names()}", field="region")
    return access.regions[0]
