from ekspora_contracts.envelope import new_event
from ekspora_contracts.registry import MsmeContactChanged
from ekspora_kit.changes import outbox_entries
from tests.factories import CLOCK

EVENT = new_event(
    MsmeContactChanged(
        msme_id="msme-1", region="blitar", owner_name="Sri", preferred_language="id", timezone="Asia/Jakarta"
    ),
    region="blitar",
    producer="registry",
    correlation_id="c",
    time=CLOCK.now(),
)


def test_an_outbox_entry_names_the_regional_topic_and_keeps_the_event_as_published():
    [entry] = outbox_entries([EVENT])
    assert entry["id"] == EVENT.id and entry["key"] == "msme-1" and entry["type"] == EVENT.type
    assert entry["topic"] == "ekspora.blitar.registry.contacts"
    assert entry["value"] == EVENT.model_dump_json()


def test_no_events_no_entries():
    assert outbox_entries([]) == []
