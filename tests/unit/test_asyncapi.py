"""The committed AsyncAPI 3 document is what the four apps generate: it cannot drift from the code."""

import yaml

from ekspora_contracts.topics import CATALOGUE
from ekspora_ops.asyncapi import DOCUMENT, REFERENCE_REGION, generate


def test_the_committed_asyncapi_document_matches_the_apps():
    assert DOCUMENT.read_text() == generate(), "stale: run python -m ekspora_ops.asyncapi --write"


def test_every_stream_is_published_with_its_event_schemas_and_every_group_is_named():
    document = yaml.safe_load(DOCUMENT.read_text())
    assert document["asyncapi"] == "3.0.0"
    sent = {
        document["channels"][op["channel"]["$ref"].rsplit("/", 1)[1]]["address"]
        for op in document["operations"].values()
        if op["action"] == "send"
    }
    assert sent == {stream.topic(REFERENCE_REGION) for stream in CATALOGUE}
    received = [name for name, op in document["operations"].items() if op["action"] == "receive"]
    assert {name.split(":")[0] for name in received} == {
        f"{service}.{REFERENCE_REGION}" for service in ("registry", "matching", "shipping", "notifications", "identity")
    } | {f"registry.{REFERENCE_REGION}.funnel"}  # the registry's tally of its own events
    schemas = document["components"]["schemas"]
    assert "ProductExportReady" in schemas and "MatchConfirmed" in schemas and "ShipmentStatusChanged" in schemas
