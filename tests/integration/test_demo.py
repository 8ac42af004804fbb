"""The README's main job, as a test: the Kota Kediri story plays to its expected end state, and what
it put on the public topics, which partner systems read, names no person."""

import asyncio
import json
import subprocess
import sys
from datetime import datetime

from ekspora_contracts.topics import CATALOGUE
from ekspora_kit.topic_reader import read_from_beginning
from ekspora_ops import seed
from ekspora_ops.demo import REGION
from tests.factories import CLOCK
from tests.integration.support import BUS, ROOT

PERSONAL_FIELDS = {"owner_name", "nib", "whatsapp", "email", "phone", "owner"}


async def public_events_since(started: datetime) -> list[dict]:
    """The events on the region's public topics that happened from `started` on (by their `time`)."""
    public = [stream.topic(REGION) for stream in CATALOGUE if stream.visibility == "public"]
    records = [record for topic in public for record in await read_from_beginning(BUS, topic, timeout=5)]
    events = [json.loads(record.value) for record in records]
    return [event for event in events if datetime.fromisoformat(event["time"]) >= started]


def field_names(value: object) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {name for item in value.values() for name in field_names(item)}
    if isinstance(value, list):
        return {name for item in value for name in field_names(item)}
    return set()


def test_the_kota_kediri_story_reaches_its_expected_end_state():
    started = CLOCK.now()
    run = subprocess.run(
        [sys.executable, "-m", "ekspora_ops.demo", "--exit"],
        cwd=ROOT,
        capture_output=True,
        check=False,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert "DONE in" in run.stdout
    for heading in (
        "1/9 Seeding",
        "2/9 Partners abroad",
        "5/9 Incubation results",
        "7/9 Matching",
        "8/9 Shipping",
        "9/9 Partners report",
        "Demand-driven incubation",
        "The gap with the most unlocked demand: certificate.halal",
        "signed in as mentor) led 'Klinik halal",
        "(the mentor recorded its photo)",
        "didorong UMKM moved up",
        "filled together by",
        "same maker",
        "export value (IDR)",
        "dead letters",
        "each verified with `standardwebhooks`",
        "product.export_ready -> partner webhook: median",
    ):
        assert heading in run.stdout

    events = asyncio.run(public_events_since(started))
    assert len(events) > 100, "the story publishes registrations, assessments and products"
    assert not {name for event in events for name in field_names(event["data"])} & PERSONAL_FIELDS
    people = [
        value
        for umkm in seed.registrations(seed.read_seed(seed.KOTA_KEDIRI))
        for key, value in umkm["register"].items()
        if key in PERSONAL_FIELDS
    ]
    published = "\n".join(json.dumps(event) for event in events)
    assert [person for person in people if person in published] == [], "a person's data on a public topic"
