"""People's accounts, in tables: the shape of each role, who may make whom, the sign-in throttle,
disabling and a new password (both revoke the tokens issued before), and the kit's view of a caller."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from ekspora_identity import people
from ekspora_identity.people import Role
from ekspora_kit.auth import Forbidden, region_asked
from ekspora_kit.domain import Invalid, NotAllowed, NotPermitted
from ekspora_kit.http import Unprocessable
from ekspora_kit.tokens import Access

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
ADMIN = Access(actor="person:psn-0000000000000001", role="admin", regions=())
KEDIRI_MACHINE = Access(actor="operator:kota-kediri", role="operator", regions=("kota-kediri",), machine=True)
KEDIRI_PERSON = Access(actor="person:psn-0000000000000002", role="operator", regions=("kota-kediri",))
KEDIRI_VIEWER = Access(actor="person:psn-0000000000000003", role="viewer", regions=("kota-kediri",))


def new(role: str, **more: object) -> people.NewPerson:
    return people.NewPerson.model_validate(
        {"email": "Sari@Kediri.example", "name": "Sari", "role": role, "password": "p" * 12} | more
    )


def account(**more: object) -> people.Person:
    command = new("operator", regions=["kota-kediri"])
    return people.new_person(command, "hash", "cred-1", "operator:kota-kediri", NOW).model_copy(update=more)


@pytest.mark.parametrize(
    ("role", "fields", "refused_field"),
    [
        ("operator", {"regions": ["kota-kediri"]}, None),
        ("viewer", {"regions": ["kota-kediri", "blitar"]}, None),
        ("admin", {}, None),
        ("partner_user", {"partner_id": "ptn-toko"}, None),
        ("operator", {}, "regions"),
        ("mentor", {}, "regions"),
        ("viewer", {"regions": ["kota-kediri"], "partner_id": "ptn-toko"}, "partner_id"),
        ("partner_user", {}, "partner_id"),
        ("partner_user", {"partner_id": "ptn-toko", "regions": ["kota-kediri"]}, "partner_id"),
        ("operator", {"regions": ["Kota Kediri"]}, "regions"),
        ("operator", {"regions": ["kota-kediri"], "password": "short"}, "password"),
        ("operator", {"regions": ["kota-kediri"], "email": "not-an-address"}, "email"),
        ("operator", {"regions": ["kota-kediri"], "name": "Sari\u202e"}, "name"),
    ],
)
def test_each_role_has_its_shape(role, fields, refused_field):
    if refused_field is None:
        assert new(role, **fields).role == role
        return
    with pytest.raises((ValidationError, Invalid)) as refused:  # Invalid: the role's shape, answered 422 too
        new(role, **fields)
    assert refused_field in str(refused.value) or getattr(refused.value, "field", None) == refused_field


@pytest.mark.parametrize(
    ("manager", "role", "regions", "allowed"),
    [
        (ADMIN, Role.ADMIN, [], True),
        (ADMIN, Role.OPERATOR, ["blitar"], True),
        (KEDIRI_MACHINE, Role.OPERATOR, ["kota-kediri"], True),
        (KEDIRI_MACHINE, Role.PARTNER_USER, [], True),
        (KEDIRI_MACHINE, Role.ADMIN, [], False),
        (KEDIRI_MACHINE, Role.VIEWER, ["kota-kediri", "blitar"], False),
        (KEDIRI_PERSON, Role.VIEWER, ["kota-kediri"], False),  # a person manages accounts only as an admin
        (KEDIRI_PERSON, Role.MENTOR, ["kota-kediri"], True),  # or, as an operator, its cohorts' mentors
        (KEDIRI_PERSON, Role.MENTOR, ["blitar"], False),
        (KEDIRI_VIEWER, Role.MENTOR, ["kota-kediri"], False),
    ],
)
def test_who_may_make_whom(manager, role, regions, allowed):
    if allowed:
        people.may_manage(manager, role, regions)
    else:
        with pytest.raises(NotPermitted):
            people.may_manage(manager, role, regions)


def test_an_address_is_one_account_and_stays_out_of_its_id():
    assert people.person_id(" Sari@Kediri.example ") == people.person_id("sari@kediri.example")
    assert people.person_id("sari@kediri.example") != people.person_id("sari2@kediri.example")
    assert "sari" not in people.person_id("sari@kediri.example")


def test_five_wrong_passwords_in_a_row_lock_the_account_for_a_quarter_of_an_hour():
    person, outcomes = account(), []
    for _ in range(people.FAILURES_BEFORE_LOCK):
        person, outcome = people.sign_in(person, False, NOW)
        outcomes.append(outcome)
    assert outcomes == ["wrong_password"] * 4 + ["locked"]
    assert person.locked_until == NOW + people.LOCKED_FOR
    assert people.sign_in(person, True, NOW + timedelta(minutes=14))[1] == "locked"
    unlocked, outcome = people.sign_in(person, True, NOW + timedelta(minutes=15))
    assert outcome == "signed_in" and unlocked.failed_signins == 0 and unlocked.locked_until is None


def test_a_right_password_resets_the_count_of_wrong_ones():
    person, _ = people.sign_in(account(failed_signins=4), True, NOW)
    assert people.sign_in(person, False, NOW)[1] == "wrong_password"


def test_disabling_or_a_new_password_revokes_the_tokens_issued_before():
    disabled, revoked = people.disable(account(), NOW) or (None, None)
    assert disabled is not None and revoked is not None and revoked.key_id == "cred-1"
    assert people.disable(disabled, NOW) is None, "once"
    assert people.sign_in(disabled, True, NOW)[1] == "disabled"
    with pytest.raises(NotAllowed):
        people.new_password(disabled, "hash-2", "cred-2", NOW)
    changed, revoked = people.new_password(account(failed_signins=3), "hash-2", "cred-2", NOW)
    assert (revoked.key_id, changed.credential_id, changed.failed_signins) == ("cred-1", "cred-2", 0)


def test_a_persons_token_carries_role_regions_and_credential_but_not_the_address():
    claims = people.person_claims(account(), "jti-1", NOW, timedelta(minutes=15))
    assert (claims["role"], claims["regions"], claims["key"]) == ("operator", ["kota-kediri"], "cred-1")
    assert claims["exp"] - claims["iat"] == 900
    assert "kediri.example" not in str(claims)


HOURS_12 = timedelta(hours=12)


@pytest.mark.parametrize(
    "person, key, signed_in_hours_ago, refused",
    [
        (account(), "cred-1", 1, None),
        (account(), "cred-1", 12, None),
        (account(), "cred-1", 12.01, "the sign-in is too old: sign in again"),
        (account(), None, 1, "the password changed since this sign-in"),
        (account(), "cred-0", 1, "the password changed since this sign-in"),
        (account(disabled_at=NOW), "cred-1", 1, "the account is disabled"),
        (None, "cred-1", 1, "the account is disabled"),
    ],
)
def test_a_sign_in_is_renewed_while_the_account_and_its_password_stand_for_twelve_hours(
    person, key, signed_in_hours_ago, refused
):
    signed_in_at = NOW - timedelta(hours=signed_in_hours_ago)
    assert people.renewal_refused(person, key, signed_in_at, NOW, HOURS_12) == refused


def test_a_renewed_token_keeps_the_moment_of_its_sign_in():
    signed_in_at = NOW - timedelta(hours=3)
    claims = people.person_claims(account(), "jti-2", NOW, timedelta(minutes=15), signed_in_at)
    assert claims["auth_time"] == int(signed_in_at.timestamp()) and claims["iat"] == int(NOW.timestamp())
    assert people.renewal_refused(account(), "cred-1", None, NOW, HOURS_12), "a token without its sign-in"


@pytest.mark.parametrize(
    ("regions", "asked", "answer"),
    [
        (("kota-kediri",), None, "kota-kediri"),
        (("kota-kediri", "blitar"), "blitar", "blitar"),
        (("kota-kediri", "blitar"), None, Unprocessable),
        (("kota-kediri",), "blitar", Forbidden),
        ((), None, Unprocessable),
    ],
)
def test_the_region_a_list_is_for(regions, asked, answer):
    access = Access(actor="person:psn-1", role="operator", regions=regions)
    if isinstance(answer, str):
        assert region_asked(access, asked) == answer
    else:
        with pytest.raises(answer):
            region_asked(access, asked)
