from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from ekspora_contracts.registry import MsmeContactChanged, MsmeRegistered
from ekspora_registry.domain import RegisterMsme, register
from tests.factories import VALID_REGISTRATION

VALID = VALID_REGISTRATION


def test_registration_emits_a_public_event_and_a_private_contact_event():
    msme, events = register(RegisterMsme(**VALID), "msme-1", datetime(2026, 11, 28, tzinfo=UTC))
    registered, contact = events
    assert isinstance(registered, MsmeRegistered) and isinstance(contact, MsmeContactChanged)
    assert msme.profile.preferred_language == "id"
    public = registered.model_dump_json()
    assert "+6281234500001" not in public and "tini@tahutakwa.id" not in public
    assert contact.whatsapp == "+6281234500001" and contact.email == "tini@tahutakwa.id"
    assert registered.stream.visibility == "public" and contact.stream.visibility == "private"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("nib", "12345"),
        ("nib", "12345678901234"),
        ("nib", "12345678901a3"),
        ("whatsapp", "081234567890"),
        ("whatsapp", "+62 812"),
        ("email", "not-an-email"),
        ("sector", "weapons"),
        ("region", "Kota Kediri"),
        ("business_name", "X"),
    ],
)
def test_invalid_registrations_are_refused_with_the_field_named(field, value):
    with pytest.raises(ValidationError) as error:
        RegisterMsme(**(VALID | {field: value}))
    assert error.value.errors()[0]["loc"] == (field,)


def test_contact_is_optional_and_unknown_fields_are_refused():
    without_contact = {k: v for k, v in VALID.items() if k not in ("whatsapp", "email")}
    assert RegisterMsme(**without_contact).whatsapp is None
    with pytest.raises(ValidationError):
        RegisterMsme(**VALID, password="x")
