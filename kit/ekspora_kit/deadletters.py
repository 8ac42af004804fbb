"""Inspect and re-publish dead letters.

    python -m ekspora_kit.deadletters list   --region kota-kediri
    python -m ekspora_kit.deadletters replay --region kota-kediri --group notifications.kota-kediri

`replay` re-publishes each dead letter of one consumer group to its original topic (same key and
bytes), once: it remembers progress in the consumer group `deadletter-replay.<group>`. Every group
on that topic sees the event again; their consumers are idempotent, so only the one that failed acts.
"""

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from ekspora_contracts.envelope import CONTENT_TYPE
from ekspora_contracts.topics import DEAD_LETTER
from ekspora_kit.bus import BusAccess
from ekspora_kit.table import table
from ekspora_kit.topic_reader import read_from_beginning, read_newest

REPLAYED_FROM = "dlt-replayed-from"


def header(record: ConsumerRecord, name: str) -> str:
    return next((value.decode() for key, value in record.headers if key == name), "")


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    group: str
    reason: str
    original: str  # topic:partition@offset
    original_topic: str
    failed_at: str
    error: str

    @classmethod
    def of(cls, record: ConsumerRecord) -> "DeadLetter":
        topic = header(record, "dlt-original-topic")
        return cls(
            partition=record.partition,
            offset=record.offset,
            group=header(record, "dlt-consumer-group"),
            reason=header(record, "dlt-reason"),
            original=f"{topic}:{header(record, 'dlt-original-partition')}@{header(record, 'dlt-original-offset')}",
            original_topic=topic,
            failed_at=header(record, "dlt-failed-at"),
            error=header(record, "dlt-error"),
        )


async def dead_letters(access: BusAccess, region: str) -> list[DeadLetter]:
    return [DeadLetter.of(record) for record in await read_from_beginning(access, DEAD_LETTER.topic(region), timeout=5)]


async def newest_dead_letters(access: BusAccess, region: str, per_partition: int) -> tuple[list[DeadLetter], int]:
    """The region's newest dead letters, at most `per_partition` of each partition, and how many it has."""
    topic = DEAD_LETTER.topic(region)
    records, held = await read_newest(access, topic, partitions=DEAD_LETTER.partitions, per_partition=per_partition)
    return [DeadLetter.of(record) for record in records], held


async def republish(producer: AIOKafkaProducer, record: ConsumerRecord) -> str:
    """The dead letter's original bytes and key, back on the topic they came from."""
    original = header(record, "dlt-original-topic")
    await producer.send_and_wait(
        original,
        record.value,
        key=record.key,
        headers=[("content-type", CONTENT_TYPE.encode()), (REPLAYED_FROM, str(record.offset).encode())],
    )
    return original


async def replay_one(
    access: BusAccess, region: str, partition: int, offset: int, *, only_to: set[str] | None = None
) -> DeadLetter:
    """Re-publishes one dead letter of `region`: LookupError when there is none at that place,
    PermissionError when it came from a topic not in `only_to`."""
    topic = TopicPartition(DEAD_LETTER.topic(region), partition)
    consumer = AIOKafkaConsumer(**access.client_options(), enable_auto_commit=False)
    producer = AIOKafkaProducer(**access.client_options(), acks="all", enable_idempotence=True)
    await consumer.start()
    await producer.start()
    try:
        if (
            not 0 <= partition < DEAD_LETTER.partitions
            or not 0 <= offset < (await consumer.end_offsets([topic]))[topic]
        ):
            raise LookupError(f"no dead letter at {topic.topic}:{partition}@{offset}")
        consumer.assign([topic])
        consumer.seek(topic, offset)
        async with asyncio.timeout(15):
            record = await consumer.getone()
        if record.offset != offset:
            raise LookupError(f"dead letter {offset} is no longer kept (retention)")
        letter = DeadLetter.of(record)
        if only_to is not None and letter.original_topic not in only_to:
            raise PermissionError(f"{letter.original_topic} is not replayed from here")
        await republish(producer, record)
        return letter
    finally:
        await producer.stop()
        await consumer.stop()


async def until_caught_up(consumer: AIOKafkaConsumer) -> AsyncIterator[ConsumerRecord]:
    """The group's records from its committed position up to the end offsets seen at the start."""
    partitions = list(consumer.assignment())
    ends = await consumer.end_offsets(partitions)
    remaining = {tp for tp in partitions if await consumer.position(tp) < ends[tp]}
    while remaining:
        for tp, records in (await consumer.getmany(*remaining, timeout_ms=1000)).items():
            for record in records:
                yield record
            if await consumer.position(tp) >= ends[tp]:
                remaining.discard(tp)


async def wait_for_assignment(consumer: AIOKafkaConsumer) -> None:
    async with asyncio.timeout(30):
        while not consumer.assignment():  # noqa: ASYNC110 - aiokafka offers no event for the first assignment
            await asyncio.sleep(0.1)


async def list_dead_letters(access: BusAccess, region: str) -> int:
    rows = [
        (str(letter.offset), letter.group, letter.reason, letter.original, letter.failed_at[:19], letter.error[:70])
        for letter in await dead_letters(access, region)
    ]
    print(table(("offset", "group", "reason", "original", "failed at", "error"), rows))
    print(f"{len(rows)} dead letter(s) on {DEAD_LETTER.topic(region)}")
    return 0


async def replay(access: BusAccess, region: str, group: str, reason: str | None) -> int:
    topic = DEAD_LETTER.topic(region)
    consumer = AIOKafkaConsumer(
        topic,
        **access.client_options(),
        group_id=f"deadletter-replay.{group}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(**access.client_options(), acks="all", enable_idempotence=True)
    await consumer.start()
    await producer.start()
    replayed = skipped = 0
    try:
        await wait_for_assignment(consumer)
        async for record in until_caught_up(consumer):
            position = {TopicPartition(record.topic, record.partition): record.offset + 1}
            if header(record, "dlt-consumer-group") != group or (reason and header(record, "dlt-reason") != reason):
                skipped += 1
                await consumer.commit(position)
                continue
            original = await republish(producer, record)
            await consumer.commit(position)
            replayed += 1
            print(f"replayed dead letter {record.offset} to {original}")
    finally:
        await producer.stop()
        await consumer.stop()
    print(f"{replayed} replayed, {skipped} belonging to other groups or reasons left alone")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="deadletters", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["list", "replay"])
    parser.add_argument("--region", required=True)
    parser.add_argument("--group", help="consumer group whose dead letters to replay, e.g. notifications.kota-kediri")
    parser.add_argument("--reason", help="replay only dead letters with this reason (invalid, handler_failed, ...)")
    args = parser.parse_args(argv)
    if args.command == "list":
        return asyncio.run(list_dead_letters(BusAccess(), args.region))
    if not args.group:
        parser.error("replay needs --group")
    return asyncio.run(replay(BusAccess(), args.region, args.group, args.reason))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
