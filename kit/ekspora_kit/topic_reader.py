"""Reading a whole topic from its beginning, without a consumer group, and a group's lag (tools and tests)."""

import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import IllegalStateError

from ekspora_kit.bus import BusAccess


async def read_from_beginning(
    access: BusAccess, topic: str, *, at_least: int = 0, timeout: float = 10
) -> list[ConsumerRecord]:
    """Every record up to the end offsets; keeps waiting (up to timeout) until there are `at_least`."""
    consumer = AIOKafkaConsumer(
        topic, **access.client_options(), auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            # the subscription's partitions, taken back for a moment whenever the cluster's topics
            # change (a region provisioned meanwhile): asked again each round
            partitions = list(consumer.assignment())
            ends = await consumer.end_offsets(partitions)
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
            try:
                caught_up = all([await consumer.position(tp) >= ends[tp] for tp in partitions])
            except IllegalStateError:
                caught_up = False
            if (caught_up and len(records) >= at_least) or time.monotonic() > deadline:
                return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        await consumer.stop()


async def read_newest(
    access: BusAccess, topic: str, *, partitions: int, per_partition: int, timeout: float = 5
) -> tuple[list[ConsumerRecord], int]:
    """The newest `per_partition` records of each of the topic's `partitions`, and how many it holds in
    all: a page shows the recent ones of a topic that only grows, without reading it from the start."""
    consumer = AIOKafkaConsumer(**access.client_options(), enable_auto_commit=False)
    await consumer.start()
    try:
        if topic not in await consumer.topics():
            return [], 0
        assigned = [TopicPartition(topic, partition) for partition in range(partitions)]
        consumer.assign(assigned)
        starts, ends = await consumer.beginning_offsets(assigned), await consumer.end_offsets(assigned)
        for partition in assigned:
            consumer.seek(partition, max(starts[partition], ends[partition] - per_partition))
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout
        while not all([await consumer.position(p) >= ends[p] for p in assigned]) and time.monotonic() < deadline:
            for partition, batch in (await consumer.getmany(timeout_ms=200)).items():
                records.extend(record for record in batch if record.offset < ends[partition])
        held = sum(ends[p] - starts[p] for p in assigned)
        return sorted(records, key=lambda r: (r.partition, r.offset)), held
    finally:
        await consumer.stop()


async def group_lag(access: BusAccess, group: str) -> dict[str, int]:
    """Records not yet handled by consumer group `group`, per topic (0 when caught up)."""
    return (await groups_lag(access, [group]))[group]


async def groups_lag(
    access: BusAccess, groups: list[str] | Callable[[list[str]], list[str]]
) -> dict[str, dict[str, int]]:
    """The same for several groups (or those the broker lists that `groups` picks), over one admin
    client and one consumer: each is a sign-in to the broker."""
    admin = AIOKafkaAdminClient(**access.client_options())
    await admin.start()
    consumer = AIOKafkaConsumer(**access.client_options(), enable_auto_commit=False)
    await consumer.start()
    try:
        if callable(groups):
            groups = groups(sorted(str(listed[0]) for listed in await admin.list_consumer_groups()))
        lags: dict[str, dict[str, int]] = {}
        for group in groups:
            committed = await admin.list_consumer_group_offsets(group)
            ends = await consumer.end_offsets(list(committed))
            lag = lags.setdefault(group, {})
            for partition, offset in committed.items():
                lag[partition.topic] = lag.get(partition.topic, 0) + max(0, ends[partition] - max(offset.offset, 0))
        return lags
    finally:
        await consumer.stop()
        await admin.close()


async def delete_region_topics(access: BusAccess, region: str, *, with_global: bool = False) -> None:
    """Deletes a region's topics after a test or a benchmark run (and the global ones, `with_global`)."""
    from ekspora_contracts.topics import CATALOGUE

    admin = AIOKafkaAdminClient(**access.client_options())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        mine = [
            name
            for stream in CATALOGUE
            if (with_global or stream.scope == "region") and (name := stream.topic(region)) in existing
        ]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()
