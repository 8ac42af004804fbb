"""Reading a whole topic from its beginning, without a consumer group, and a group's lag (tools and tests)."""

import time

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient


async def read_from_beginning(
    bootstrap: str, topic: str, *, at_least: int = 0, timeout: float = 10
) -> list[ConsumerRecord]:
    """Every record up to the end offsets; keeps waiting (up to timeout) until there are `at_least`."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    deadline = time.monotonic() + timeout
    try:
        partitions = list(consumer.assignment())
        while True:
            ends = await consumer.end_offsets(partitions)
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
            caught_up = all([await consumer.position(tp) >= ends[tp] for tp in partitions])
            if (caught_up and len(records) >= at_least) or time.monotonic() > deadline:
                return sorted(records, key=lambda r: (r.partition, r.offset))
    finally:
        await consumer.stop()


async def group_lag(bootstrap: str, group: str) -> dict[str, int]:
    """Records not yet handled by consumer group `group`, per topic (0 when caught up)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        ends = await consumer.end_offsets(list(committed))
        lag: dict[str, int] = {}
        for partition, offset in committed.items():
            lag[partition.topic] = lag.get(partition.topic, 0) + max(0, ends[partition] - max(offset.offset, 0))
        return lag
    finally:
        await consumer.stop()
        await admin.close()
