"""The chaos run: UMKM, products, requests for quotation and confirmations through all four
services (several instances each) and out to webhooks, while every instance is SIGKILLed and
restarted, the Kafka broker is crashed and restarted, and the store is crashed and restarted;
one input record in a hundred is malformed. Counts from the stores and topics at the end.

    ./ekspora up && .venv/bin/python bench/chaos.py [--umkm 2000] [--instances 2] [--rate 5]

Exits 1 unless nothing was lost or duplicated, every poison record was dead-lettered and every
consumer group is back to lag 0. Crashes the local Kafka and store: run it on a machine of your own.
"""

import argparse
import asyncio
import logging
import sys

from ekspora_ops.chaos import ChaosRun, Plan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--umkm", type=int, default=2000, help="UMKM registered, at least (default 2000)")
    parser.add_argument("--instances", type=int, default=2, help="instances of every service (default 2)")
    parser.add_argument("--rate", type=float, default=5.0, help="registrations started per second (default 5)")
    parser.add_argument("--demand-copies", type=int, default=0, help="copies of the seed's 8 RFQs (default umkm/200)")
    parser.add_argument("--no-faults", action="store_true", help="the same flow without faults (the baseline)")
    args = parser.parse_args()
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # the broker is down on purpose for a while
    plan = Plan(
        umkm=args.umkm,
        instances=args.instances,
        rate=args.rate,
        demand_copies=args.demand_copies or max(1, args.umkm // 200),
        faults=() if args.no_faults else Plan.every_fault(args.instances),
    )
    audit = asyncio.run(ChaosRun(plan).run())
    print()
    print(audit.report())
    return 0 if audit.clean else 1


if __name__ == "__main__":
    sys.exit(main())
