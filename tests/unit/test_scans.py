from datetime import UTC, datetime

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram
from pymongo import monitoring

from ekspora_kit.scans import ScanWatch, filters_of, pushed_down, shape

NOW = datetime(2026, 12, 2, tzinfo=UTC)


@pytest.mark.parametrize(
    ("query", "narrowed"),
    [
        ({"_id": "msme-1"}, True),
        ({"_id": "msme-1", "outbox.0.id": "e1", "outbox.3": {"$exists": False}}, True),
        ({"nib": "1234567890123"}, True),
        ({"region": "kota-kediri", "tier": "siap"}, True),
        ({"product_ids": "prd-1"}, True),
        ({"has_outbox": True}, True),
        ({"status": {"$eq": "pending"}, "next_at": {"$lte": NOW}}, True),
        ({"status": "pending", "region": {"$in": ["a", "b"]}}, True),
        ({"$and": [{"status": "planned"}, {"cutoff_on": {"$lte": "2026-12-02"}}]}, True),
        ({}, False),
        ({"profile.nib": "1234567890123"}, False),
        ({"region": "kota-kediri", "product.category": "snack"}, False),
        ({"outbox_since": {"$exists": True}}, False),
        ({"status": {"$in": ["planned", "booked"]}}, False),
        ({"release_at": {"$lte": NOW}}, False),
        ({"_id": {"$in": ["a", "b"]}}, False),
        ({"tier": None}, False),
        ({"$or": [{"a": 1}, {"b": 2}]}, False),
        ({"profile": {"region": "kota-kediri"}}, False),
    ],
)
def test_which_filters_the_store_narrows(query, narrowed):
    assert pushed_down(query) is narrowed


@pytest.mark.parametrize(
    ("name", "command", "filters"),
    [
        ("find", {"find": "msmes", "filter": {"nib": "1"}}, [{"nib": "1"}]),
        ("find", {"find": "msmes"}, [{}]),
        ("count", {"count": "msmes", "query": {"tier": "siap"}}, [{"tier": "siap"}]),
        ("update", {"update": "m", "updates": [{"q": {"_id": 1}}, {"q": {"a.b": 2}}]}, [{"_id": 1}, {"a.b": 2}]),
        ("delete", {"delete": "m", "deletes": [{"q": {"_id": 1}}]}, [{"_id": 1}]),
        ("findAndModify", {"findAndModify": "m", "query": {"_id": 1}}, [{"_id": 1}]),
        (
            "aggregate",
            {"aggregate": "m", "pipeline": [{"$match": {"region": "r"}}, {"$count": "n"}]},
            [{"region": "r"}],
        ),
        ("aggregate", {"aggregate": "m", "pipeline": [{"$group": {"_id": "$tier"}}]}, [{}]),
        ("insert", {"insert": "m", "documents": [{"_id": 1}]}, []),
        ("createIndexes", {"createIndexes": "m", "indexes": []}, []),
    ],
)
def test_the_filters_each_command_selects_by(name, command, filters):
    assert list(filters_of(name, command)) == filters


def test_a_shape_keeps_fields_and_operators_and_drops_values():
    assert shape({"region": "r", "next_at": {"$lte": NOW}, "$and": [{"a.b": 1}]}) == {
        "region": "?",
        "next_at": {"$lte": "?"},
        "$and": [{"a.b": "?"}],
    }


def started(command: dict) -> monitoring.CommandStartedEvent:
    return monitoring.CommandStartedEvent(command, "db", 1, ("127.0.0.1", 27017), None)  # type: ignore[arg-type]


def test_the_watch_counts_unexplained_scans_per_collection_and_logs_each_shape_once(caplog):
    counter = Counter("scans", "-", ["service", "collection"], registry=CollectorRegistry())
    durations = Histogram("seconds", "-", ["service", "command", "collection"], registry=CollectorRegistry())
    watch = ScanWatch("registry", counter, durations)
    with caplog.at_level("WARNING"):
        for value in ("a", "b"):
            watch.started(started({"find": "msmes", "filter": {"profile.nib": value}}))
        watch.started(started({"find": "msmes", "filter": {"nib": "a"}}))
        watch.started(started({"find": "partners", "filter": {}, "comment": "scan: the operator's list"}))
        watch.started(started({"find": "files.chunks", "filter": {}, "limit": 1, "singleBatch": True}))  # any one
        watch.started(started({"find": "files.files", "filter": {}, "limit": 2}))
        watch.started(started({"find": "files.files", "filter": {}, "limit": 1, "sort": {"uploadDate": -1}}))
    assert counter.labels("registry", "msmes")._value.get() == 2
    assert counter.labels("registry", "partners")._value.get() == 0
    assert counter.labels("registry", "files.chunks")._value.get() == 0, "one document of no filter is pushed down"
    assert counter.labels("registry", "files.files")._value.get() == 2, "more than one, or sorted, is read whole"
    logged = [r.getMessage() for r in caplog.records if "whole collection" in r.getMessage()]
    assert logged == [
        "store query reads the whole collection: find msmes {'profile.nib': '?'}",
        "store query reads the whole collection: find files.files {}",
    ]
