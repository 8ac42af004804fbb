"""A partner's system signing in, as the demo, the chaos run, the benchmarks and the tests do it:
an operator has identity issue an API key for a partner matching registered, the system exchanges
the key for an access token, and uses the token on every service."""

import asyncio
import time
from datetime import date, timedelta
from typing import Any

import httpx


class SignInFailed(RuntimeError):
    pass


async def issue_api_key(identity_url: str, operator_token: str, partner_id: str, *, timeout: float = 60) -> str:
    """An API key for the partner; identity learns of a new partner from the bus, so a 404 is
    waited out for `timeout` seconds."""
    deadline = time.monotonic() + timeout
    headers = {"Authorization": f"Bearer {operator_token}"}
    async with httpx.AsyncClient(base_url=identity_url, headers=headers, timeout=15) as identity:
        while True:
            issued = await identity.post(f"/partners/{partner_id}/keys", json={"label": "order system"})
            if issued.status_code == 201:
                return str(issued.json()["api_key"])
            if issued.status_code != 404 or time.monotonic() > deadline:
                raise SignInFailed(f"no key for {partner_id}: {issued.status_code} {issued.text}")
            await asyncio.sleep(0.2)


async def access_token(identity_url: str, api_key: str) -> str:
    async with httpx.AsyncClient(base_url=identity_url, timeout=15) as identity:
        answer = await identity.post("/token", headers={"Authorization": f"Bearer {api_key}"})
    if answer.status_code != 200:
        raise SignInFailed(f"no token: {answer.status_code} {answer.text}")
    return str(answer.json()["access_token"])


async def accepted_by(service_url: str, probe: str, token: str, *, timeout: float = 60) -> None:
    """Waits until a service takes the token: it learns identity's key and the partner from the bus."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=service_url, headers={"Authorization": f"Bearer {token}"}) as service:
        while (answer := await service.get(probe)).status_code == 401:
            if time.monotonic() > deadline:
                raise SignInFailed(f"{service_url} still refuses the token: {answer.text}")
            await asyncio.sleep(0.2)


async def sign_in(identity_url: str, operator_token: str, partner_id: str) -> str:
    """An access token for the partner, by way of a new API key."""
    return await access_token(identity_url, await issue_api_key(identity_url, operator_token, partner_id))


def request_body(seeded: dict[str, Any], today: date) -> dict[str, Any]:
    """A seeded request for quotation as its partner posts it: `needed_in_days` becomes a needed-by date."""
    body = {"kind": "rfq", **{k: v for k, v in seeded.items() if k != "needed_in_days"}}
    if "needed_in_days" in seeded:
        body["needed_by"] = (today + timedelta(days=seeded["needed_in_days"])).isoformat()
    return body
