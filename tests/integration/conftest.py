import asyncio

import pytest

from tests.integration.support import BUS, MONGO, Platform, Provider


@pytest.fixture(scope="session", autouse=True)
def real_infrastructure() -> None:
    """Integration tests need the real broker and store; ./ekspora test starts them."""
    from aiokafka.admin import AIOKafkaAdminClient
    from pymongo import MongoClient

    async def kafka_answers() -> None:
        admin = AIOKafkaAdminClient(**BUS.client_options(), request_timeout_ms=5000)
        await admin.start()
        await admin.list_topics()
        await admin.close()

    try:
        asyncio.run(asyncio.wait_for(kafka_answers(), 15))
        MongoClient(MONGO, serverSelectionTimeoutMS=5000).admin.command("ping")
    except Exception as error:
        pytest.exit(
            f"Kafka ({BUS.bootstrap}) or the store ({MONGO}) is not answering: run `./ekspora test`. {error!r}", 2
        )


@pytest.fixture
async def platform(request: pytest.FixtureRequest):
    platform = Platform(request.node.name)
    await platform.provision()
    yield platform
    await platform.close()


@pytest.fixture
def provider():
    """A local messaging provider (SMS, and WhatsApp where no Cloud API is configured)."""
    running = Provider()
    yield running
    running.server.shutdown()
