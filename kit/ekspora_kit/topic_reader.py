"""Reading a whole topic from its beginning, without a consumer group (tools and tests)."""

import time

from aiokafka import AIOKafkaConsumer, ConsumerRecord


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
