"""The bounded chaos run: two instances of every service while one instance of each is SIGKILLed,
the broker is crashed and the store is crashed, each while events are in flight, with malformed
records among the input. The full run is bench/chaos.py."""

import logging

import pytest

from ekspora_ops.chaos import ChaosRun, Plan
from tests.integration.support import BUS, MONGO

BOUNDED = Plan(
    umkm=40,
    instances=2,
    rate=1.0,
    faults=(
        "kill registry-1",
        "kill matching-2",
        "kill shipping-1",
        "kill notifications-2",
        "crash kafka",
        "crash store",
    ),
    bus=BUS,
    mongo=MONGO,
)


@pytest.mark.timeout(900)
async def test_faults_in_flight_lose_and_duplicate_nothing_and_every_poison_record_is_dead_lettered():
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)  # the broker is down on purpose for a while
    run = ChaosRun(BOUNDED)
    audit = await run.run()
    print(audit.report())

    assert [fault for fault, *_ in audit.faults] == list(BOUNDED.faults)
    expected = {check.what: check.expected for check in audit.checks}
    assert expected["UMKM registered (registry store)"] >= BOUNDED.umkm
    assert expected["confirmed matches -> export orders (shipping store)"] > 0
    assert expected["partner webhooks (topics vs endpoints)"] > 0
    assert len(run.poison) >= run.traffic.inputs // BOUNDED.poison_every > 0
    assert audit.clean, audit.report()
