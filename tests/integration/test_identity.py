"""The one identity, on real processes, broker and store: identity issues a partner's API keys and
the access tokens for them; every service verifies a token on its own; a revoked key stops working
everywhere within seconds; every change records who made it; no secret travels on the bus."""

import asyncio
import json
import os
import subprocess
import sys
import time

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from ekspora_contracts.topics import IDENTITY_KEYS, MATCHING_PARTNERS
from ekspora_ops.partners import accepted_by, access_token, issue_api_key
from ekspora_ops.people import add_person, person_token
from tests.factories import VALID_REGISTRATION
from tests.integration.support import MONGO, OPERATOR, OPERATOR_TOKEN, eventually, read_topic
from tests.integration.test_matching import RFQ, lanes_known

PARTNER = {
    "kind": "diaspora_business",
    "name": "Toko Identitas Amsterdam",
    "country": "NL",
    "city": "Amsterdam",
    "categories": ["snack"],
    "min_order_units": 50,
    "max_order_units": 5000,
    "languages": ["en"],
    "contact_email": "inkoop@identitas.example",
}


def signed_in(url: str, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"})


async def refused_within(seconds: float, client: httpx.AsyncClient, path: str) -> float:
    started = time.monotonic()

    async def refused() -> bool:
        return (await client.get(path)).status_code == 401

    await eventually(refused, timeout=seconds, what=f"{client.base_url}{path} to refuse the revoked key's token")
    return time.monotonic() - started


async def test_keys_rotate_and_a_revoked_one_stops_working_everywhere_within_seconds(platform):
    identity = platform.identity()
    matching, notifications = platform.start("matching"), platform.start("notifications")
    async with httpx.AsyncClient(base_url=matching.url, headers=OPERATOR) as operator:
        partner_id = (await operator.post("/partners", json=PARTNER)).json()["partner_id"]
        assert (await operator.post(f"/partners/{partner_id}/verification")).status_code == 200

    old_key = await issue_api_key(identity.url, OPERATOR_TOKEN, partner_id)
    new_key = await issue_api_key(identity.url, OPERATOR_TOKEN, partner_id)  # rotation: both work for now
    old, new = await access_token(identity.url, old_key), await access_token(identity.url, new_key)
    on = {
        name: {
            token: httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}) for token in (old, new)
        }
        for name, url in (("matching", matching.url), ("notifications", notifications.url))
    }

    async def taken_everywhere() -> bool:
        answers = [await client.get(path) for client, path in _probes(on, old)]
        return all(answer.status_code == 200 for answer in answers)

    await eventually(taken_everywhere, what="the old key's token taken by matching and notifications")
    await lanes_known(on["matching"][old])
    posted = await on["matching"][old].post("/demands", json=RFQ)
    assert posted.status_code == 201, posted.text

    old_key_id = old_key.split(".")[1]
    async with httpx.AsyncClient(base_url=identity.url, headers={"Authorization": f"Bearer {new}"}) as partner:
        listed = (await partner.get(f"/partners/{partner_id}/keys")).json()
        assert [k["key_id"] for k in listed] == [old_key_id, new_key.split(".")[1]]
        assert all("secret" not in json.dumps(k) and "api_key" not in k for k in listed)
        revoked = await partner.delete(f"/partners/{partner_id}/keys/{old_key_id}")  # the partner revokes its own
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        assert (await partner.get("/partners/ptn-someone-else/keys")).status_code == 403

    for client, path in _probes(on, old):
        assert await refused_within(5, client, path) < 5
    for client, path in _probes(on, new):
        assert (await client.get(path)).status_code == 200, "the rotated-in key keeps working"
    async with httpx.AsyncClient(base_url=identity.url) as anyone:
        again = await anyone.post("/token", headers={"Authorization": f"Bearer {old_key}"})
        assert again.status_code == 401, "no new token for a revoked key"

    changes = platform.database("matching")["demands_changes"]
    [record] = [r async for r in changes.find({"aggregate": posted.json()["demand_id"]})]
    assert record["by"] == f"partner:{partner_id}/key:{old_key_id}", "the change records who made it"
    [verified] = [r async for r in platform.database("matching")["partners_changes"].find({"version": 2})]
    assert verified["by"] == f"operator:{platform.region}"


def _probes(on: dict, token: str) -> list[tuple[httpx.AsyncClient, str]]:
    return [(on["matching"][token], "/matches"), (on["notifications"][token], "/webhooks/endpoints")]


async def test_a_token_not_signed_by_identity_and_no_secret_on_the_bus(platform):
    platform.identity()
    matching = platform.start("matching")
    async with httpx.AsyncClient(base_url=matching.url, headers=OPERATOR) as operator:
        partner_id = (await operator.post("/partners", json=PARTNER)).json()["partner_id"]
    token = await platform.partner_token(partner_id, accepted_by=(matching.url, "/matches"))
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    forged = jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers=header)
    async with httpx.AsyncClient(base_url=matching.url, headers={"Authorization": f"Bearer {forged}"}) as attacker:
        refused = await attacker.get("/matches")
        assert refused.status_code == 401 and "token refused" in refused.json()["message"]

    published = [r.value.decode() for r in await read_topic(MATCHING_PARTNERS.topic("global"), at_least=1)]
    keys = [r.value.decode() for r in await read_topic(IDENTITY_KEYS.topic("global"), at_least=1)]
    assert not [p for p in published if partner_id in p and "api_key" in p], "no key hash with the partner"
    assert all("PRIVATE KEY" not in k for k in keys) and any("PUBLIC KEY" in k for k in keys)


PASSWORD = "kediri-tahu-takwa-2026"


def person(role: str, email: str, **more: object) -> dict:
    return {"email": email, "name": f"Test {role}", "role": role, "password": PASSWORD, **more}


async def test_people_sign_in_with_role_and_regions_and_every_change_records_who(platform):
    identity = platform.identity()
    registry, matching = platform.start("registry"), platform.start("matching")
    region = platform.region
    async with httpx.AsyncClient(base_url=identity.url, headers=OPERATOR) as machine:
        made = await machine.post("/people", json=person("operator", "Sari@Kediri.example", regions=[region]))
        assert made.status_code == 201, made.text
        assert made.json()["email"] == "sari@kediri.example" and "password" not in made.text
    await add_person(identity.url, OPERATOR_TOKEN, person("viewer", "bi@kediri.example", regions=[region]))
    operator = await person_token(identity.url, "sari@kediri.example", PASSWORD)
    viewer = await person_token(identity.url, "bi@kediri.example", PASSWORD)
    claims = jwt.decode(operator, options={"verify_signature": False})
    assert (claims["role"], claims["regions"]) == ("operator", [region])
    assert claims["sub"] == f"person:{made.json()['person_id']}" and "sari" not in claims["sub"]
    await accepted_by(registry.url, f"/msmes?region={region}", operator)

    registration = VALID_REGISTRATION | {"region": region, "nib": "9120301299901"}
    async with signed_in(registry.url, operator) as sari, signed_in(registry.url, viewer) as bank:
        enrolled = await sari.post("/msmes", json=registration)
        assert enrolled.status_code == 201, enrolled.text
        msme_id = enrolled.json()["msme_id"]
        elsewhere = await sari.post("/msmes", json=registration | {"region": "blitar", "nib": "9120301299902"})
        assert elsewhere.status_code in (403, 422), "an operator acts in its own regions only"
        assert (await bank.get(f"/msmes/{msme_id}")).status_code == 200, "a viewer reads"
        looked = await bank.patch(f"/msmes/{msme_id}", json={"kelurahan": "Banjaran"})
        assert looked.status_code == 403 and "viewer" in looked.json()["message"], "and changes nothing"
    [record] = [r async for r in platform.database("registry")["msmes_changes"].find({"aggregate": msme_id})]
    assert record["by"] == f"person:{made.json()['person_id']}", "the change records the person who made it"

    async with httpx.AsyncClient(base_url=matching.url, headers=OPERATOR) as machine:
        partner_id = (await machine.post("/partners", json=PARTNER)).json()["partner_id"]
    shop = await add_person(
        identity.url, OPERATOR_TOKEN, person("partner_user", "inkoop@toko.example", partner_id=partner_id, locale="nl")
    )
    shopper = await person_token(identity.url, "inkoop@toko.example", PASSWORD)
    await accepted_by(matching.url, "/matches", shopper)
    async with signed_in(matching.url, shopper) as partner_user:
        await lanes_known(partner_user)
        posted = await partner_user.post("/demands", json=RFQ)
        assert posted.status_code == 201, posted.text
        assert (await partner_user.post("/partners", json=PARTNER)).status_code == 403, "operators only"
    [record] = [
        r
        async for r in platform.database("matching")["demands_changes"].find({"aggregate": posted.json()["demand_id"]})
    ]
    assert record["by"] == f"person:{shop['person_id']}"

    async with httpx.AsyncClient(base_url=identity.url, headers=OPERATOR) as machine:
        disabled = await machine.delete(f"/people/{made.json()['person_id']}")
        assert disabled.status_code == 200 and disabled.json()["disabled_at"]
    async with signed_in(registry.url, operator) as sari:
        assert await refused_within(5, sari, f"/msmes/{msme_id}") < 5, "a disabled person's token stops working"
    async with httpx.AsyncClient(base_url=identity.url) as anyone:
        again = await anyone.post("/sign-in", json={"email": "sari@kediri.example", "password": PASSWORD})
        assert again.status_code == 401


async def test_sign_in_is_throttled_and_says_nothing_about_which_part_was_wrong(platform):
    identity = platform.identity()
    await add_person(identity.url, OPERATOR_TOKEN, person("viewer", "kadin@kediri.example", regions=[platform.region]))
    async with httpx.AsyncClient(base_url=identity.url) as anyone:

        async def attempt(email: str, password: str) -> httpx.Response:
            return await anyone.post("/sign-in", json={"email": email, "password": password})

        unknown, wrong = (
            await attempt("nobody@kediri.example", PASSWORD),
            await attempt("kadin@kediri.example", "x" * 12),
        )
        assert unknown.status_code == wrong.status_code == 401
        assert unknown.json()["message"] == wrong.json()["message"]
        for _ in range(3):
            assert (await attempt("kadin@kediri.example", "y" * 12)).status_code == 401
        locked = await attempt("kadin@kediri.example", "z" * 12)  # the fifth wrong one in a row
        assert locked.status_code == 429 and 800 <= int(locked.headers["Retry-After"]) <= 901
        still = await attempt("kadin@kediri.example", PASSWORD)
        assert still.status_code == 429, "even the right password waits out the lock"
        assert (await attempt("nobody@kediri.example", PASSWORD)).status_code == 401


async def test_accounts_are_made_by_whom_may_and_in_the_shape_of_their_role(platform):
    identity, region = platform.identity(), platform.region
    async with httpx.AsyncClient(base_url=identity.url, headers=OPERATOR) as machine:
        assert (
            await machine.post("/people", json=person("operator", "sari@kediri.example", regions=[region]))
        ).status_code == 201
        refusals = {
            "an admin, from a region's machine token": person("admin", "root@kediri.example"),
            "another region's operator": person("operator", "x@blitar.example", regions=["blitar"]),
        }
        for why, body in refusals.items():
            refused = await machine.post("/people", json=body)
            assert refused.status_code == 403, (why, refused.text)
        twice = await machine.post("/people", json=person("operator", "SARI@kediri.example", regions=[region]))
        assert twice.status_code == 409 and twice.json()["errors"][0]["field"] == "email"
        shapeless = await machine.post("/people", json=person("operator", "y@kediri.example"))
        assert shapeless.status_code == 422 and "region" in shapeless.text
        short = await machine.post(
            "/people", json=person("viewer", "z@k.example", regions=[region]) | {"password": "x"}
        )
        assert short.status_code == 422 and short.json()["errors"][0]["field"] == "password"


async def first_admin(platform, email: str = "admin@ekspora.example") -> None:
    """The deployment's first admin, made as its operators would: with identity's command line."""
    made = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "ekspora_identity.bootstrap", "--email", email, "--name", "Admin"],
        env=os.environ
        | {
            "EKSPORA_MONGO_URL": MONGO,
            "EKSPORA_MONGO_DATABASE": platform.database_name("identity"),
            "EKSPORA_BOOTSTRAP_PASSWORD": PASSWORD,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "admin psn-" in made.stdout, made.stdout + made.stderr


async def test_the_first_admin_is_made_from_the_command_line_and_manages_every_region(platform):
    identity, region = platform.identity(), platform.region
    await first_admin(platform)
    admin = await person_token(identity.url, "admin@ekspora.example", PASSWORD)
    async with signed_in(identity.url, admin) as signed:
        both = await signed.post("/people", json=person("operator", "dua@jatim.example", regions=[region, "blitar"]))
        assert both.status_code == 201 and both.json()["regions"] == sorted([region, "blitar"])
        assert [p["email"] for p in (await signed.get("/people")).json()] == [
            "admin@ekspora.example",
            "dua@jatim.example",
        ]
    operator = await person_token(identity.url, "dua@jatim.example", PASSWORD)
    async with signed_in(identity.url, operator) as not_an_admin:
        refused = await not_an_admin.post("/people", json=person("viewer", "v@jatim.example", regions=["blitar"]))
        assert refused.status_code == 403 and "admin" in refused.json()["message"]
