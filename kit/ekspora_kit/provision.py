"""Provisioning the bus, as its administrator: regions (topics and the services' grants), service and
partner principals (SCRAM-SHA-512 credentials), and the grants table.

    python -m ekspora_kit.provision region kota-kediri blitar       topics and grants of these regions
    python -m ekspora_kit.provision services                      the four services' credentials (from the environment)
    python -m ekspora_kit.provision partner ptn-1 --regions kota-kediri [--password …]   a partner system's read access
    python -m ekspora_kit.provision revoke ptn-1 --regions kota-kediri                   and its removal
    python -m ekspora_kit.provision grants kota-kediri             the table: principal x topic x operation

It connects as the administrator (EKSPORA_KAFKA_USERNAME / EKSPORA_KAFKA_PASSWORD, a super user).
aiokafka speaks CreateAcls and DeleteAcls v1, which Kafka 4.0 still serves, but not
AlterUserScramCredentials, so that request is defined here from Kafka's own schema (API key 51).
"""

import argparse
import asyncio
import contextlib
import hashlib
import os
import secrets
from collections.abc import Sequence

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.protocol.admin import CreateAclsRequest, DeleteAclsRequest
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)

from ekspora_contracts.topics import CATALOGUE
from ekspora_kit.bus import (
    CONSOLE,
    MONITOR,
    SERVICES,
    BusAccess,
    Grant,
    partner_grants,
    partner_principal,
    region_grants,
)
from ekspora_kit.table import table

SCRAM_SHA_512 = 2
SCRAM_ITERATIONS = 8192
RESOURCE_TYPES = {"TOPIC": 2, "GROUP": 3}
PATTERN_TYPES = {"LITERAL": 3, "PREFIXED": 4}
OPERATIONS = {"READ": 3, "WRITE": 4, "DESCRIBE": 8}
ALLOW = 3


class AlterUserScramCredentialsResponse_v0(Response):
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class AlterUserScramCredentialsRequest_v0(RequestStruct):
    API_KEY = 51
    API_VERSION = 0
    FLEXIBLE_VERSION = True
    RESPONSE_TYPE = AlterUserScramCredentialsResponse_v0
    SCHEMA = Schema(
        ("deletions", CompactArray(("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields))),
        (
            "upsertions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class AlterUserScramCredentials(Request[AlterUserScramCredentialsRequest_v0]):
    API_KEY = 51

    def __init__(self, upsert: dict[str, str], delete: Sequence[str] = ()) -> None:
        self.upsert, self.delete = upsert, delete

    def build(self, request_struct_class: type[AlterUserScramCredentialsRequest_v0]) -> RequestStruct:
        upsertions: list[tuple[str, int, int, bytes, bytes, dict]] = []
        for name, password in self.upsert.items():
            salt = secrets.token_bytes(32)
            salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, SCRAM_ITERATIONS)
            upsertions.append((name, SCRAM_SHA_512, SCRAM_ITERATIONS, salt, salted, {}))
        deletions: list[tuple[str, int, dict]] = [(name, SCRAM_SHA_512, {}) for name in self.delete]
        return request_struct_class(deletions, upsertions, {})


class BusAdmin:
    def __init__(self, access: BusAccess) -> None:
        self.admin = AIOKafkaAdminClient(**access.client_options(), request_timeout_ms=15000)

    async def __aenter__(self) -> "BusAdmin":
        await self.admin.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.admin.close()

    async def _send(self, request: Request) -> Response:
        return await self.admin._send_request(request)  # aiokafka has no public call for these requests

    async def set_passwords(self, passwords: dict[str, str]) -> None:
        response = await self._send(AlterUserScramCredentials(passwords))
        failed = [f"{user}: {message}" for user, code, message, _ in response.results if code]
        if failed:
            raise RuntimeError(f"SCRAM credentials refused: {failed}")

    async def remove_user(self, name: str) -> None:
        response = await self._send(AlterUserScramCredentials({}, [name]))
        failed = [f"{user}: {message}" for user, code, message, _ in response.results if code and code != 91]
        if failed:  # 91: RESOURCE_NOT_FOUND, already gone
            raise RuntimeError(f"SCRAM credentials not removed: {failed}")

    async def grant(self, grants: Sequence[Grant]) -> None:
        for grant in grants:
            response = await self._send(CreateAclsRequest(*_acl(grant)))
            for code, message in response.creation_responses:
                if code:
                    raise RuntimeError(f"grant {grant} refused ({code}): {message}")

    async def revoke(self, grants: Sequence[Grant]) -> None:
        for grant in grants:
            response = await self._send(DeleteAclsRequest(*_acl(grant)))
            failed = [result for result in response.filter_responses if result[0]]
            if failed:
                raise RuntimeError(f"grant {grant} not revoked: {failed}")

    async def create_topics(self, regions: Sequence[str], replication_factor: int = 1) -> list[str]:
        """The regions' topics, and the global ones every region shares (those alone for no region)."""
        existing = set(await self.admin.list_topics())
        shared = [stream for stream in CATALOGUE if stream.scope == "global"]
        wanted = {stream.topic(region): stream for region in regions for stream in CATALOGUE}
        wanted |= {stream.topic("global"): stream for stream in shared}
        missing = [
            NewTopic(
                name,
                num_partitions=stream.partitions,
                replication_factor=replication_factor,
                topic_configs={"cleanup.policy": "compact"} if stream.compacted else {},
            )
            for name, stream in wanted.items()
            if name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # someone provisioned it at the same time
                await self.admin.create_topics(missing)
        return [topic.name for topic in missing]


def _acl(grant: Grant) -> tuple[int, str, int, str, str, int, int]:
    return (
        RESOURCE_TYPES[grant.resource_type],
        grant.name,
        PATTERN_TYPES[grant.pattern],
        grant.principal,
        "*",
        OPERATIONS[grant.operation],
        ALLOW,
    )


async def provision_regions(access: BusAccess, regions: Sequence[str], replication_factor: int = 1) -> None:
    """Creates the regions' topics and grants every service what it needs in them."""
    async with BusAdmin(access) as admin:
        await admin.create_topics(regions, replication_factor)
        await admin.grant(region_grants(list(regions)))


async def retire_regions(access: BusAccess, regions: Sequence[str]) -> None:
    """Takes back the grants on the topics of regions whose topics are deleted (tests and
    benchmarks); the grants on groups and global topics serve every region and stay."""
    topics = {stream.topic(region) for stream in CATALOGUE for region in regions if stream.scope == "region"}
    async with BusAdmin(access) as admin:
        await admin.revoke([grant for grant in region_grants(list(regions)) if grant.name in topics])


async def add_partner(access: BusAccess, partner_id: str, regions: Sequence[str], password: str) -> None:
    async with BusAdmin(access) as admin:
        await admin.set_passwords({partner_principal(partner_id): password})
        await admin.grant(partner_grants(partner_id, list(regions)))


async def remove_partner(access: BusAccess, partner_id: str, regions: Sequence[str]) -> None:
    async with BusAdmin(access) as admin:
        await admin.revoke(partner_grants(partner_id, list(regions)))
        await admin.remove_user(partner_principal(partner_id))


def service_passwords(access: BusAccess) -> dict[str, str]:
    """The services' passwords, as the administrator holds them (EKSPORA_KAFKA_PASSWORD_<SERVICE>),
    the monitor's and the console's where one is set, and the administrator's own, so that it signs in
    with SCRAM too."""
    missing = [s for s in SERVICES if not os.environ.get(f"EKSPORA_KAFKA_PASSWORD_{s.upper()}")]
    if missing:
        raise SystemExit(f"set EKSPORA_KAFKA_PASSWORD_<SERVICE> for {', '.join(missing)}")
    optional = [name for name in (MONITOR, CONSOLE) if os.environ.get(f"EKSPORA_KAFKA_PASSWORD_{name.upper()}")]
    names = [*SERVICES, *optional]
    return {name: os.environ[f"EKSPORA_KAFKA_PASSWORD_{name.upper()}"] for name in names} | {
        access.username: access.password
    }


def grants_table(grants: Sequence[Grant]) -> str:
    rows: dict[tuple[str, str], set[str]] = {}
    for grant in grants:
        name = grant.name + ("*" if grant.pattern == "PREFIXED" else "")
        rows.setdefault((grant.principal.removeprefix("User:"), f"{grant.resource_type.lower()} {name}"), set()).add(
            grant.operation.lower()
        )
    return table(
        ("principal", "resource", "operations"),
        [(principal, resource, ", ".join(sorted(ops))) for (principal, resource), ops in sorted(rows.items())],
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("region").add_argument("regions", nargs="+")
    commands.add_parser("services")
    for name in ("partner", "revoke"):
        command = commands.add_parser(name)
        command.add_argument("partner_id")
        command.add_argument("--regions", nargs="+", required=True)
        if name == "partner":
            command.add_argument("--password", default="")
    commands.add_parser("grants").add_argument("regions", nargs="+")
    args = parser.parse_args()
    access = BusAccess()
    if args.command == "region":
        await provision_regions(access, args.regions, int(os.environ.get("EKSPORA_KAFKA_REPLICATION_FACTOR", "1")))
        print(f"provisioned {', '.join(args.regions)}: topics and the services' grants")
    elif args.command == "services":
        async with BusAdmin(access) as admin:
            await admin.set_passwords(service_passwords(access))
        print(f"SCRAM credentials set for {', '.join(service_passwords(access))}")
    elif args.command == "partner":
        password = args.password or secrets.token_urlsafe(24)
        await add_partner(access, args.partner_id, args.regions, password)
        print(f"{partner_principal(args.partner_id)} may read the public topics of {', '.join(args.regions)}")
        if not args.password:
            print(f"password (shown once): {password}")
    elif args.command == "revoke":
        await remove_partner(access, args.partner_id, args.regions)
        print(f"{partner_principal(args.partner_id)} removed")
    else:
        print(grants_table(region_grants(args.regions) + partner_grants("<partner>", args.regions)))


if __name__ == "__main__":
    asyncio.run(main())
