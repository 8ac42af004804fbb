import pytest
from pydantic import ValidationError

from ekspora_contracts.envelope import CloudEvent, new_event
from ekspora_contracts.registry import MsmeRegistered
from tests.factories import CLOCK, msme_registered

REGISTERED = msme_registered(msme_id="msme-1")


def test_new_event_carries_cloudevents_attributes_and_extensions():
    event = new_event(REGISTERED, region="kota-kediri", producer="registry", correlation_id="req-1", time=CLOCK.now())
    assert event.specversion == "1.0"
    assert event.type == "ekspora.registry.msme.registered.v2"
    assert event.source == "/ekspora/registry/kota-kediri"
    assert event.subject == "msme-1"
    assert event.correlationid == "req-1"
    assert event.time.tzinfo is not None
    round_trip = CloudEvent[MsmeRegistered].model_validate_json(event.model_dump_json())
    assert round_trip == event


@pytest.mark.parametrize(
    ("field", "value"),
    [("type", "msme.registered"), ("region", "Kota Kediri"), ("specversion", "0.3"), ("unexpected", 1)],
)
def test_envelope_rejects_bad_attributes(field, value):
    raw = new_event(
        REGISTERED, region="kota-kediri", producer="registry", correlation_id="c", time=CLOCK.now()
    ).model_dump(mode="json")
    raw[field] = value
    with pytest.raises(ValidationError):
        CloudEvent[MsmeRegistered].model_validate(raw)


def test_payload_is_closed():
    raw = REGISTERED.model_dump() | {"whatsapp": "+6281234567890"}
    with pytest.raises(ValidationError):
        MsmeRegistered.model_validate(raw)
