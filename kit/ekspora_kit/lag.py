"""How far behind each consumer group is, per topic: what KEDA scales on, for a person to read.

python -m ekspora_kit.lag [--region kota-kediri]     (the broker and principal from EKSPORA_KAFKA_*)
"""

import argparse
import asyncio
import sys

from aiokafka.admin import AIOKafkaAdminClient

from ekspora_kit.bus import BusAccess
from ekspora_kit.table import table
from ekspora_kit.topic_reader import groups_lag


async def groups_of(access: BusAccess, region: str | None) -> list[str]:
    admin = AIOKafkaAdminClient(**access.client_options())
    await admin.start()
    try:
        listed = await admin.list_consumer_groups()
    finally:
        await admin.close()
    return of_region(sorted(str(group[0]) for group in listed), region)


def of_region(names: list[str], region: str | None) -> list[str]:
    """`<service>.<region>`, and a service's tallies `<service>.<region>.<tally>`."""
    return [name for name in names if region is None or name.endswith(f".{region}") or f".{region}." in name]


async def region_lag(access: BusAccess, region: str | None) -> list[tuple[str, str, int]]:
    """(consumer group, topic, records behind) for every group of `region` (of every region: None)."""
    lags = await groups_lag(access, lambda names: of_region(names, region))
    return [(group, topic, behind) for group, lag in lags.items() for topic, behind in sorted(lag.items())]


async def report(access: BusAccess, region: str | None) -> int:
    rows = await region_lag(access, region)
    if not rows:
        print("no consumer groups" + (f" for region {region}" if region else ""))
        return 0
    print(table(("consumer group", "topic", "lag (records)"), rows))
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Consumer lag per group and topic")
    parser.add_argument("--region", help="only the groups of this region, e.g. kota-kediri")
    args = parser.parse_args(argv)
    return asyncio.run(report(BusAccess(), args.region))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
