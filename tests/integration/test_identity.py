"""The one identity, on real processes, broker and store: identity issues a partner's API keys and
the access tokens for them; every service verifies a token on its own; a revoked key stops working
everywhere within seconds; every change records who made it; no secret travels on the bus."""

import json
import time

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from ekspora_contracts.topics import IDENTITY_KEYS, MATCHING_PARTNERS
from ekspora_ops.partners import access_token, issue_api_key
from tests.integration.support import OPERATOR, OPERATOR_TOKEN, eventually, read_topic
from tests.integration.test_matching import RFQ

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
