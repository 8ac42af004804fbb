"""Readiness probes used by infra.sh: `probe.py kafka HOST:PORT` or `probe.py mongo HOST:PORT`.

Exits 0 only when the server really answers: Kafka returns cluster metadata to the client named by
EKSPORA_KAFKA_* (infra.sh sets the administrator's), Mongo answers `ping`.
"""

import asyncio
import sys

from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from ekspora_kit.bus import BusAccess


async def kafka_answers(address: str) -> None:
    options = BusAccess().client_options() | {"bootstrap_servers": address}
    admin = AIOKafkaAdminClient(**options, request_timeout_ms=3000)
    await admin.start()
    try:
        await admin.list_topics()
    finally:
        await admin.close()


async def mongo_answers(address: str) -> None:
    client: AsyncMongoClient = AsyncMongoClient(f"mongodb://{address}", serverSelectionTimeoutMS=2000)
    try:
        await client.admin.command("ping")
    finally:
        await client.close()


def main() -> int:
    kind, address = sys.argv[1], sys.argv[2]
    check = {"kafka": kafka_answers, "mongo": mongo_answers}[kind]
    try:
        asyncio.run(asyncio.wait_for(check(address), timeout=8))
    except Exception as error:  # any failure means "not ready yet"
        print(f"{kind} at {address} not ready: {error!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
