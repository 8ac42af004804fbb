"""People's accounts and their sign-in: an admin (or a region's machine token) creates and disables
them; a person signs in with a password and gets an access token carrying role and regions."""

from datetime import datetime

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, SecretStr

from ekspora_identity import people
from ekspora_identity.accounts import AlreadyRegistered, SignInRefused
from ekspora_identity.api.deps import People
from ekspora_identity.api.tokens import AccessToken
from ekspora_kit.auth import Credentials, Operator, Unauthorized, verified
from ekspora_kit.domain import Model
from ekspora_kit.http import Conflict, error_body

router = APIRouter(tags=["people"])
PersonId = Path(pattern=people.ID_PATTERN)
REFUSED_SIGN_IN = "the email or the password is wrong"  # the same whichever it was


class PersonView(BaseModel):
    person_id: str
    email: str
    name: str
    role: people.Role
    regions: list[str]
    partner_id: str | None
    locale: people.Locale
    created_at: datetime
    created_by: str
    disabled_at: datetime | None

    @classmethod
    def of(cls, person: people.Person) -> "PersonView":
        return cls.model_validate(person.model_dump(include=set(cls.model_fields)))


class SignIn(Model):
    email: str = Field(max_length=254)
    password: SecretStr = Field(max_length=128)


class SignedIn(AccessToken):
    person: PersonView


class NewPassword(Model):
    current_password: SecretStr | None = Field(default=None, max_length=128, description="When it is your own")
    password: SecretStr = Field(min_length=12, max_length=128)


@router.post("/people", status_code=201, response_model=PersonView, responses={409: {"description": "Has one"}})
async def create_person(body: people.NewPerson, by: Operator, accounts: People) -> PersonView:
    try:
        return PersonView.of(await accounts.create(body, by))
    except AlreadyRegistered as taken:
        raise Conflict(str(taken), field="email") from None


@router.get("/people", response_model=list[PersonView])
async def list_people(
    by: Operator, accounts: People, email: str | None = Query(default=None, max_length=254)
) -> list[PersonView]:
    """The accounts you manage; the one of `email` only, when given (is there one for this mentor?)."""
    return [PersonView.of(person) for person in await accounts.visible_to(by, email)]


@router.get("/people/{person_id}", response_model=PersonView)
async def get_person(by: Operator, accounts: People, person_id: str = PersonId) -> PersonView:
    return PersonView.of(await accounts.get(person_id, by))


@router.delete("/people/{person_id}", response_model=PersonView)
async def disable_person(by: Operator, accounts: People, person_id: str = PersonId) -> PersonView:
    """Disabled at once here, and within seconds in every service: the tokens it holds stop working."""
    return PersonView.of(await accounts.disable(person_id, by))


@router.post("/people/{person_id}/password", status_code=204, responses={401: {"description": "Wrong password"}})
async def set_password(body: NewPassword, by: Operator, accounts: People, person_id: str = PersonId) -> None:
    """Your own (with the current one), or anyone's as an admin: tokens issued before stop working."""
    current = body.current_password.get_secret_value() if body.current_password else None
    try:
        await accounts.set_password(person_id, current, body.password.get_secret_value(), by)
    except SignInRefused:
        raise Unauthorized("the current password is wrong", field="current_password") from None


@router.post(
    "/sign-in",
    response_model=SignedIn,
    responses={401: {"description": REFUSED_SIGN_IN}, 429: {"description": "Too many wrong passwords: locked"}},
)
async def sign_in(body: SignIn, accounts: People) -> SignedIn | JSONResponse:
    """A person's password for an access token (the console signs in with this)."""
    try:
        person, token = await accounts.sign_in(body.email, body.password.get_secret_value())
    except SignInRefused as refused:
        if refused.outcome == "locked":
            wait = refused.retry_after_seconds
            body_ = error_body("locked", f"too many wrong passwords: try again in {wait // 60 + 1} minutes", None)
            return JSONResponse(status_code=429, content=body_, headers={"Retry-After": str(wait)})
        raise Unauthorized(REFUSED_SIGN_IN) from None
    ttl = int(accounts.identity.token_ttl.total_seconds())
    return SignedIn(access_token=token, expires_in=ttl, person=PersonView.of(person))


@router.post("/sign-in/renewal", response_model=SignedIn, responses={401: {"description": "Sign in again"}})
async def renew(request: Request, credentials: Credentials, accounts: People) -> SignedIn:
    """A person's valid token for a fresh one with the same sign-in (the console keeps a session
    going with this), while the account is enabled, its password unchanged, and the sign-in younger
    than the configured limit (12 hours by default)."""
    if credentials is None:
        raise Unauthorized("send the token to renew as a bearer token")
    try:
        person, token = await accounts.renew(verified(request, credentials.credentials))
    except SignInRefused:
        raise Unauthorized("this sign-in can no longer be renewed: sign in again") from None
    ttl = int(accounts.identity.token_ttl.total_seconds())
    return SignedIn(access_token=token, expires_in=ttl, person=PersonView.of(person))
