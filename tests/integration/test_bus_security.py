"""The bus lets each principal do only what it is granted (ekspora_kit.bus), on the real broker:
nobody gets on without signing in, a partner system reads only the public topics of its regions and
writes nothing, a service writes only what it produces, and so a forged partner or product event
never reaches a service."""

import asyncio
import hashlib
import logging
import secrets

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import (
    GroupAuthorizationFailedError,
    KafkaConnectionError,
    KafkaError,
    TopicAuthorizationFailedError,
)

from ekspora_contracts.envelope import new_event
from ekspora_contracts.matching import PartnerChangedV1
from ekspora_contracts.topics import (
    CATALOGUE,
    DEAD_LETTER,
    IDENTITY_KEYS,
    MATCHING_MATCH,
    MATCHING_PARTNERS,
    REGISTRY_CONTACTS,
    REGISTRY_MSME,
    REGISTRY_PRODUCT,
    SHIPPING_SHIPMENT,
)
from ekspora_kit.bus import BusAccess
from ekspora_kit.provision import add_partner, remove_partner
from ekspora_ops.measure import bench_partner
from tests.factories import CLOCK
from tests.integration.support import BUS, publish

PARTNER = "ptn-bus-test"


@pytest.fixture(autouse=True)
def quiet_aiokafka():
    """aiokafka logs every refused metadata request; the refusals are what these tests want."""
    logging.disable(logging.ERROR)
    yield
    logging.disable(logging.NOTSET)


@pytest.fixture
async def partner_system(platform):
    password = secrets.token_urlsafe(18)
    await add_partner(BUS, PARTNER, [platform.region], password)
    yield BUS.as_user(f"partner.{PARTNER}", password)
    await remove_partner(BUS, PARTNER, [platform.region])


def service(name: str) -> BusAccess:
    import os

    return BUS.as_user(name, os.environ[f"EKSPORA_KAFKA_PASSWORD_{name.upper()}"])


async def produces(access: BusAccess, topic: str) -> bool:
    producer = AIOKafkaProducer(**access.client_options(), request_timeout_ms=5000)
    await producer.start()
    try:
        await producer.send_and_wait(topic, b'{"forged": true}', key=b"k")
        return True
    except TopicAuthorizationFailedError:
        return False
    finally:
        await producer.stop()


async def reads(access: BusAccess, topic: str, group: str) -> bool:
    consumer = AIOKafkaConsumer(
        topic, **access.client_options(), group_id=group, auto_offset_reset="earliest", enable_auto_commit=False
    )
    try:
        await consumer.start()
        batches = await asyncio.wait_for(consumer.getmany(timeout_ms=3000), 15)
        return bool(batches)
    except (TopicAuthorizationFailedError, GroupAuthorizationFailedError):
        return False
    finally:
        await consumer.stop()


async def test_nobody_gets_on_the_bus_without_signing_in():
    anonymous = AIOKafkaProducer(bootstrap_servers=BUS.bootstrap, request_timeout_ms=3000)
    with pytest.raises(KafkaConnectionError):
        await asyncio.wait_for(anonymous.start(), 20)
    await anonymous.stop()

    guessing = AIOKafkaProducer(**BUS.as_user("registry", "not-the-password").client_options())
    with pytest.raises(KafkaError):
        await asyncio.wait_for(guessing.start(), 20)
    await guessing.stop()


async def test_a_partner_system_reads_the_public_topics_of_its_regions_and_writes_nothing(platform, partner_system):
    other = f"{platform.region}-other"
    await platform.provision(other)
    group = f"partner.{PARTNER}.{platform.region}"
    for stream in (REGISTRY_PRODUCT, REGISTRY_MSME):
        await publish(platform.topic(stream), b"k", b'{"published": "by its producer"}')
        assert await reads(partner_system, platform.topic(stream), group), f"{stream.name} is meant for partners"

    for stream in (REGISTRY_CONTACTS, MATCHING_MATCH, SHIPPING_SHIPMENT, MATCHING_PARTNERS, DEAD_LETTER):
        assert not await reads(partner_system, platform.topic(stream), group), f"{stream.name} is not for partners"
    await publish(REGISTRY_PRODUCT.topic(other), b"k", b"{}")
    assert not await reads(partner_system, REGISTRY_PRODUCT.topic(other), group), "a region it does not buy from"
    assert not await reads(partner_system, platform.topic(REGISTRY_PRODUCT), "registry.steal"), "another's group"

    for stream in CATALOGUE:
        assert not await produces(partner_system, platform.topic(stream)), f"a partner wrote {stream.name}"


async def test_a_service_writes_only_the_topics_it_produces(platform):
    registry = service("registry")
    assert await produces(registry, platform.topic(REGISTRY_PRODUCT))
    for stream in (MATCHING_PARTNERS, MATCHING_MATCH, SHIPPING_SHIPMENT):
        assert not await produces(registry, platform.topic(stream)), f"registry wrote {stream.name}"
    assert not await reads(registry, platform.topic(REGISTRY_CONTACTS), "registry.peek"), "it writes, not reads, them"

    shipping = service("shipping")
    assert not await produces(shipping, platform.topic(REGISTRY_PRODUCT)), "shipping forged a product"
    assert not await produces(shipping, platform.topic(MATCHING_PARTNERS)), "shipping forged a partner"


async def first_record(access: BusAccess, topic: str) -> bytes | None:
    """The first record of partition 0, read without a consumer group (as a replay does); None if refused."""
    consumer = AIOKafkaConsumer(**access.client_options(), enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek(partition, 0)
        return (await asyncio.wait_for(consumer.getone(), 15)).value
    except TopicAuthorizationFailedError:
        return None
    finally:
        await consumer.stop()


async def test_the_console_reads_dead_letters_and_replays_into_region_topics_but_reads_no_event(platform):
    console = service("console")
    await publish(platform.topic(DEAD_LETTER), b"k", b'{"dead": "letter"}')
    assert await first_record(console, platform.topic(DEAD_LETTER)) == b'{"dead": "letter"}'
    assert await first_record(console, platform.topic(REGISTRY_CONTACTS)) is None, "owners' contacts are not its"
    assert not await reads(console, platform.topic(DEAD_LETTER), "console.peek"), "no consumer group of its own"
    assert await produces(console, platform.topic(REGISTRY_MSME)), "a replay goes back where it came from"
    for stream in (MATCHING_PARTNERS, IDENTITY_KEYS, DEAD_LETTER):
        assert not await produces(console, platform.topic(stream)), f"the console wrote {stream.name}"


async def test_a_forged_partner_never_reaches_the_services(platform, partner_system):
    """The attack from issue 14: a partner.changed.v1 carrying the SHA-256 of the attacker's own key,
    produced with the credentials an attacker could hold, would have made that key work everywhere.
    Keys are identity's alone now, and so is the topic with the keys that tokens are verified with."""
    notifications = platform.start("notifications")
    attacker_key = "ptk_" + secrets.token_urlsafe(24)
    forged = PartnerChangedV1(
        **bench_partner(platform.region, categories=["snack"]).model_dump(exclude={"address"}) | {"version": 99},
        api_key_sha256=hashlib.sha256(attacker_key.encode()).hexdigest(),
    )
    event = new_event(forged, region="global", producer="matching", correlation_id="forged", time=CLOCK.now())
    for holder in (partner_system, service("registry"), service("shipping"), service("notifications")):
        producer = AIOKafkaProducer(**holder.client_options(), request_timeout_ms=5000)
        await producer.start()
        try:
            for topic in (MATCHING_PARTNERS, IDENTITY_KEYS):
                with pytest.raises(TopicAuthorizationFailedError):
                    await producer.send_and_wait(platform.topic(topic), event.model_dump_json().encode())
        finally:
            await producer.stop()

    async with httpx.AsyncClient(base_url=notifications.url, headers={"Authorization": f"Bearer {attacker_key}"}) as c:
        assert (await c.get("/webhooks/endpoints")).status_code == 401
