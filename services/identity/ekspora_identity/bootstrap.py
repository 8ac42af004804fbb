"""The first admin of a deployment, made from the command line against identity's own store (as a
database's first superuser is): every later account is made by an admin, or by a region's machine
token for its region, over HTTP.

    EKSPORA_BOOTSTRAP_PASSWORD=… python -m ekspora_identity.bootstrap --email a@b.id --name "Admin"

The password comes from the environment, not the command line, where `ps` would show it.
"""

import argparse
import asyncio
import os
import sys

from pymongo import AsyncMongoClient

from ekspora_identity.accounts import Accounts, AlreadyRegistered
from ekspora_identity.people import NewPerson, Role
from ekspora_identity.service import IdentityService
from ekspora_identity.settings import IdentitySettings
from ekspora_identity.store import IdentityStore
from ekspora_kit.clock import Clock
from ekspora_kit.tokens import Access

BOOTSTRAP = Access(actor="bootstrap", role=Role.ADMIN, regions=(), machine=True)


async def make_admin(settings: IdentitySettings, email: str, name: str, password: str, locale: str) -> str:
    mongo: AsyncMongoClient = AsyncMongoClient(settings.mongo_url, tz_aware=True, serverSelectionTimeoutMS=5000)
    try:
        store = IdentityStore(mongo[settings.database_name])
        await store.ensure_indexes()
        clock = Clock(settings.clock_offset_seconds)
        identity = IdentityService(store, clock=clock, token_ttl=settings.token_ttl(), signing_key_pem="")
        command = NewPerson.model_validate(
            {"email": email, "name": name, "role": "admin", "password": password, "locale": locale}
        )
        try:
            person = await Accounts(store, identity).create(command, BOOTSTRAP)
        except AlreadyRegistered as taken:
            return f"{taken}: nothing changed"
        return f"admin {person.person_id} made for {person.email}"
    finally:
        await mongo.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Make a deployment's first admin account.")
    parser.add_argument("--email", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--locale", default="id", choices=["id", "en", "nl"])
    arguments = parser.parse_args()
    password = os.environ.get("EKSPORA_BOOTSTRAP_PASSWORD", "")
    if len(password) < 12:
        sys.exit("set EKSPORA_BOOTSTRAP_PASSWORD to the admin's password (at least 12 characters)")
    print(asyncio.run(make_admin(IdentitySettings(), arguments.email, arguments.name, password, arguments.locale)))


if __name__ == "__main__":
    main()
