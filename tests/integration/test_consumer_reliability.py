"""Consumers on the real broker: redelivery changes nothing, poison goes to the dead-letter topic."""

import asyncio
import json
import subprocess
import sys

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from ekspora_contracts.topics import DEAD_LETTER, REGISTRY_MSME
from ekspora_kit.topic_reader import read_newest
from tests.factories import registered_event
from tests.integration.support import BUS, eventually, metric, publish, read_topic
from tests.integration.test_skeleton_flow import operator_feed

pytestmark = pytest.mark.clock  # times of day, local dates, expiries: CI runs it at shifted hours


def registered_event_bytes(region: str, msme_id: str) -> bytes:
    return registered_event(region, msme_id).model_dump_json().encode()


async def notifications_for(notifications, region, msme_id):
    return [n for n in await operator_feed(notifications, region) if n["subject"] == msme_id]


async def test_redelivered_event_records_nothing_new(platform):
    notifications = platform.start("notifications")
    topic = platform.topic(REGISTRY_MSME)
    event = registered_event_bytes(platform.region, "msme-redelivered")
    for _ in range(3):
        await publish(topic, b"msme-redelivered", event)

    async def duplicates_counted():
        text = (await httpx.AsyncClient().get(f"{notifications.url}/metrics")).text
        return metric(text, "ekspora_duplicates_skipped_total") == 2

    await eventually(duplicates_counted, what="two redeliveries skipped")
    assert len(await notifications_for(notifications, platform.region, "msme-redelivered")) == 1


async def test_poison_messages_are_dead_lettered_and_the_next_good_one_is_processed(platform):
    notifications = platform.start("notifications")
    topic = platform.topic(REGISTRY_MSME)
    invalid = json.loads(registered_event_bytes(platform.region, "msme-bad"))
    invalid["data"]["nib"] = "not-a-nib"
    await publish(topic, b"msme-x", b"\x00garbage{")
    await publish(topic, b"msme-x", json.dumps(invalid).encode())
    await publish(topic, b"msme-x", registered_event_bytes(platform.region, "msme-good"))

    await eventually(
        lambda: notifications_for(notifications, platform.region, "msme-good"),
        what="the good message after two poison messages",
    )
    letters = await read_topic(platform.topic(DEAD_LETTER), at_least=2)
    headers = [{k: v.decode() for k, v in letter.headers} for letter in letters]
    assert [h["dlt-reason"] for h in headers] == ["malformed", "invalid"]
    assert "data.nib" in headers[1]["dlt-error"]
    assert {h["dlt-original-topic"] for h in headers} == {topic}
    assert [h["dlt-original-offset"] for h in headers] == ["0", "1"]
    assert {h["dlt-consumer-group"] for h in headers} == {f"notifications.{platform.region}"}
    assert letters[0].value == b"\x00garbage{"

    listing = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "ekspora_kit.deadletters", "list", "--region", platform.region],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listing.returncode == 0, listing.stderr
    assert "2 dead letter(s)" in listing.stdout and "malformed" in listing.stdout


async def test_replay_republishes_a_dead_letter_once_after_the_cause_is_fixed(platform):
    notifications = platform.start("notifications")
    group = f"notifications.{platform.region}"
    topic = platform.topic(REGISTRY_MSME)
    # A valid event that failed earlier (say the store was down): it waits on the dead-letter topic.
    await publish(
        platform.topic(DEAD_LETTER),
        b"msme-replayed",
        registered_event_bytes(platform.region, "msme-replayed"),
        {
            "dlt-reason": "handler_failed",
            "dlt-original-topic": topic,
            "dlt-consumer-group": group,
            "dlt-original-partition": "0",
            "dlt-original-offset": "0",
            "dlt-error": "store down",
        },
    )
    await publish(
        platform.topic(DEAD_LETTER),
        b"other",
        b"{}",
        {"dlt-consumer-group": "matching.x", "dlt-original-topic": topic, "dlt-reason": "invalid"},
    )
    command = [
        sys.executable,
        "-m",
        "ekspora_kit.deadletters",
        "replay",
        "--region",
        platform.region,
        "--group",
        group,
    ]

    first = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert "1 replayed, 1 belonging to other groups" in first.stdout
    await eventually(
        lambda: notifications_for(notifications, platform.region, "msme-replayed"),
        what="the replayed event to be processed",
    )

    second = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=60)
    assert "0 replayed" in second.stdout, second.stdout
    assert len(await read_topic(topic)) == 1


async def test_the_newest_records_of_each_partition_are_read_without_reading_the_topic(platform):
    topic = platform.topic(REGISTRY_MSME)
    assert await read_newest(BUS, f"{topic}.none", partitions=6, per_partition=3) == ([], 0), "no such topic: nothing"
    producer = AIOKafkaProducer(**BUS.client_options(), acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for n in range(7):
            await producer.send_and_wait(topic, f"first-{n}".encode(), partition=0)
        await producer.send_and_wait(topic, b"second-0", partition=1)
    finally:
        await producer.stop()

    records, held = await read_newest(BUS, topic, partitions=REGISTRY_MSME.partitions, per_partition=3)
    assert held == 8
    assert [(r.partition, r.offset, r.value) for r in records] == [
        (0, 4, b"first-4"),
        (0, 5, b"first-5"),
        (0, 6, b"first-6"),
        (1, 0, b"second-0"),
    ]
