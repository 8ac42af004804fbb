"""The console's demo accounts, and signing in to the console as a browser does (a form with its
CSRF token, then a session cookie): the demo, the page-time benchmark and the tests use it."""

import asyncio
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from ekspora_ops.people import add_person

DEMO_PASSWORD = "kediri-ekspor-2026"  # the local demo's accounts only; a deployment's people choose their own
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def demo_people(region: str, partner_id: str) -> list[dict[str, Any]]:
    return [
        {"email": "sari@kotakediri.example", "name": "Sari Wulandari", "role": "operator", "regions": [region]},
        {
            "email": "dewi@bi-kediri.example",
            "name": "Dewi Kusuma (Bank Indonesia)",
            "role": "viewer",
            "regions": [region],
            "locale": "en",
        },
        {
            "email": "inkoop@tokonusantara.example",
            "name": "Ruud de Vries (Toko Nusantara)",
            "role": "partner_user",
            "partner_id": partner_id,
            "locale": "nl",
        },
    ]


def make_demo_accounts(identity_url: str, operator_token: str, region: str, partner_id: str) -> list[dict[str, Any]]:
    people = demo_people(region, partner_id)
    for person in people:
        asyncio.run(add_person(identity_url, operator_token, person | {"password": DEMO_PASSWORD}))
    return people


@contextmanager
def signed_in(console_url: str, email: str, password: str = DEMO_PASSWORD) -> Iterator[httpx.Client]:
    """A client holding a console session, as after signing in in a browser."""
    with httpx.Client(base_url=console_url, timeout=30) as client:
        form = client.get("/sign-in")
        token = CSRF.search(form.text)
        if token is None:
            raise RuntimeError(f"no sign-in form at {console_url}: {form.status_code}")
        answer = client.post("/sign-in", data={"email": email, "password": password, "csrf": token[1]})
        if answer.status_code != 303:
            raise RuntimeError(f"{email} could not sign in to the console: {answer.status_code}")
        yield client
