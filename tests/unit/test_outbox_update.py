from ekspora_contracts.envelope import new_event
from ekspora_contracts.registry import MsmeContactChanged
from ekspora_kit.outbox import new_document_with_outbox, update_with_outbox
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


def test_update_keeps_the_callers_operators_and_adds_the_events_atomically():
    update = update_with_outbox({"$set": {"name": "x"}, "$push": {"history": 1}}, [EVENT])
    assert update["$set"] == {"name": "x", "has_outbox": True}
    assert update["$push"]["history"] == 1
    [entry] = update["$push"]["outbox"]["$each"]
    assert entry["id"] == EVENT.id and entry["key"] == "msme-1"
    assert entry["topic"] == "ekspora.blitar.registry.contacts"
    assert "$min" in update and "outbox_since" in update["$min"]


def test_no_events_leaves_the_update_alone():
    assert update_with_outbox({"$set": {"a": 1}}, []) == {"$set": {"a": 1}}
    assert new_document_with_outbox({"_id": 1}, []) == {"_id": 1}


def test_new_document_carries_its_outbox():
    document = new_document_with_outbox({"_id": "msme-1"}, [EVENT])
    assert [entry["id"] for entry in document["outbox"]] == [EVENT.id]
