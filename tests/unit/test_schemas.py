"""Contract schemas: committed files match the models, and the compatibility rule catches breaks."""

import copy

import pytest

from ekspora_contracts import schemas
from ekspora_contracts.catalog import EVENT_TYPES

BASE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "count": {"type": "integer"},
        "kind": {"enum": ["a", "b"]},
        "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
    },
    "required": ["name", "count"],
}


def changed(mutate):
    schema = copy.deepcopy(BASE)
    mutate(schema)
    return schema


@pytest.mark.parametrize(
    ("description", "new", "breaking"),
    [
        ("unchanged", BASE, []),
        ("optional property added", changed(lambda s: s["properties"].update(extra={"type": "string"})), []),
        ("required made optional", changed(lambda s: s["required"].remove("count")), []),
        ("enum widened", changed(lambda s: s["properties"]["kind"].update(enum=["a", "b", "c"])), []),
        ("minLength relaxed", changed(lambda s: s["properties"]["name"].update(minLength=0)), []),
        ("property removed", changed(lambda s: s["properties"].pop("note")), ["$.note: removed"]),
        (
            "new required property",
            changed(lambda s: (s["properties"].update(x={"type": "string"}), s["required"].append("x"))),
            ["$.x: newly required"],
        ),
        ("type changed", changed(lambda s: s["properties"]["count"].update(type="string")), ["$.count: type"]),
        ("enum narrowed", changed(lambda s: s["properties"]["kind"].update(enum=["a"])), ["$.kind: enum lost"]),
        (
            "nullable made required string",
            changed(lambda s: s["properties"].update(note={"type": "string"})),
            ["$.note: type narrowed"],
        ),
        ("minLength tightened", changed(lambda s: s["properties"]["name"].update(minLength=3)), ["$.name: minLength"]),
        ("pattern added", changed(lambda s: s["properties"]["name"].update(pattern="^x")), ["$.name: pattern"]),
    ],
)
def test_breaking_changes_table(description, new, breaking):
    problems = schemas.breaking_changes(BASE, new)
    assert len(problems) == len(breaking), (description, problems)
    for expected, problem in zip(breaking, problems, strict=True):
        assert problem.startswith(expected), (description, problem)


def test_refs_are_followed_into_nested_models():
    old = {
        "$defs": {
            "D": {
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "required": ["a"],
                "additionalProperties": False,
            }
        },
        "type": "object",
        "properties": {"data": {"$ref": "#/$defs/D"}},
    }
    new = copy.deepcopy(old)
    new["$defs"]["D"]["properties"]["a"]["type"] = "integer"
    assert schemas.breaking_changes(old, new) == ["$.data.a: type narrowed from ['string'] to ['integer']"]


def test_every_event_type_has_a_committed_schema_that_matches_its_model():
    problems, stale = schemas.compatibility_report()
    assert problems == [], "breaking change to a published event: add a new type version instead"
    assert stale == [], "run `python -m ekspora_contracts.schemas export` and commit contracts/schemas/"
    assert set(schemas.committed()) == set(EVENT_TYPES)


def test_committed_schemas_are_closed():
    for event_type, schema in schemas.committed().items():
        assert schema["additionalProperties"] is False, event_type
        data = schemas._resolve(schema["properties"]["data"], schema)
        assert data["additionalProperties"] is False, event_type


def test_contracts_readme_shows_the_current_catalogue():
    from pathlib import Path

    from ekspora_contracts.docs import catalogue_markdown

    readme = (Path(__file__).resolve().parents[2] / "contracts" / "README.md").read_text()
    between = readme.split("<!-- catalogue:start", 1)[1].split("-->\n", 1)[1].split("\n<!-- catalogue:end", 1)[0]
    assert between.strip() == catalogue_markdown().strip(), "run python -m ekspora_contracts.docs"
