"""JSON Schema per event type, and the compatibility rule for changing one.

Rule (Confluent's BACKWARD, the default): a new schema for an existing type must accept every
event the committed schema accepted, so consumers on the new code can still read the old events
(replays, dead-letter re-publishes). The envelope and payloads are closed
(`additionalProperties: false`), which is what makes "added an optional property" provably safe.
Anything else is a new type version (`.v2`).

    python -m ekspora_contracts.schemas export   # write contracts/schemas/, refusing breaking changes
    python -m ekspora_contracts.schemas check    # exit 1 if generated schemas differ or break
"""

import json
import sys
from pathlib import Path
from typing import Any

from ekspora_contracts.catalog import EVENT_TYPES
from ekspora_contracts.envelope import event_model

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
Schema = dict[str, Any]


def generate() -> dict[str, Schema]:
    schemas = {}
    for event_type, model in sorted(EVENT_TYPES.items()):
        schema = event_model(model).model_json_schema()
        schema["title"] = event_type
        schema["$id"] = f"https://ekspora.id/schemas/{event_type}.json"
        schemas[event_type] = schema
    return schemas


def committed() -> dict[str, Schema]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(SCHEMA_DIR.glob("*.json"))}


def _resolve(node: Any, root: Schema) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = root["$defs"][name]
    return node


def _types(node: Schema) -> set[str]:
    if "anyOf" in node:
        return set().union(*(_types(branch) for branch in node["anyOf"]))
    if "const" in node:
        return {type(node["const"]).__name__}
    declared = node.get("type", "any")
    return set(declared) if isinstance(declared, list) else {declared}


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """What the new schema rejects that the old one accepted (empty list: compatible)."""
    problems: list[str] = []
    _compare(old, new, old, new, "$", problems)
    return problems


def _compare(old: Any, new: Any, old_root: Schema, new_root: Schema, path: str, problems: list[str]) -> None:
    old, new = _resolve(old, old_root), _resolve(new, new_root)
    old_types, new_types = _types(old), _types(new)
    if "any" not in new_types and not old_types <= new_types:
        problems.append(f"{path}: type narrowed from {sorted(old_types)} to {sorted(new_types)}")
        return
    problems += _narrowed_values(old, new, path)
    if "anyOf" in old and "anyOf" in new:
        for index, old_branch in enumerate(old["anyOf"]):
            resolved = _resolve(old_branch, old_root)
            matches = [b for b in new["anyOf"] if _types(_resolve(b, new_root)) >= _types(resolved)]
            if matches:
                _compare(resolved, matches[0], old_root, new_root, f"{path}|{index}", problems)
    _compare_properties(old, new, old_root, new_root, path, problems)
    if "items" in old and "items" in new:
        _compare(old["items"], new["items"], old_root, new_root, f"{path}[]", problems)


def _narrowed_values(old: Any, new: Any, path: str) -> list[str]:
    """Constants, enums, patterns and bounds that accept less than before."""
    problems = []
    if "const" in new and old.get("const") != new["const"]:
        problems.append(f"{path}: now fixed to {new['const']!r}")
    if "enum" in new and not set(old.get("enum", [old.get("const")])) <= set(new["enum"]):
        problems.append(f"{path}: enum lost values {sorted(set(old.get('enum', [])) - set(new['enum']))}")
    if "pattern" in new and new["pattern"] != old.get("pattern"):
        problems.append(f"{path}: pattern changed to {new['pattern']!r}")
    for bound, tighter in (("minLength", max), ("minimum", max), ("maxLength", min), ("maximum", min)):
        if bound in new and (bound not in old or tighter(old[bound], new[bound]) != old[bound]):
            problems.append(f"{path}: {bound} tightened to {new[bound]}")
    return problems


def _compare_properties(old: Any, new: Any, old_root: Schema, new_root: Schema, path: str, problems: list[str]) -> None:
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    for name, old_prop in old_props.items():
        if name not in new_props:
            if new.get("additionalProperties") is False:
                problems.append(f"{path}.{name}: removed, and the closed schema now rejects it")
            continue
        _compare(old_prop, new_props[name], old_root, new_root, f"{path}.{name}", problems)
    for name in set(new.get("required", [])) - set(old.get("required", [])):
        problems.append(f"{path}.{name}: newly required")
    if old.get("additionalProperties") is not False and new.get("additionalProperties") is False:
        problems.append(f"{path}: closed to additional properties")


def compatibility_report() -> tuple[list[str], list[str]]:
    """(breaking problems, stale files) between committed schemas and the models."""
    generated, on_disk = generate(), committed()
    problems: list[str] = []
    stale: list[str] = []
    for event_type, old in on_disk.items():
        if event_type not in generated:
            problems.append(f"{event_type}: committed schema has no model any more")
            continue
        problems += [f"{event_type} {p}" for p in breaking_changes(old, generated[event_type])]
        if old != generated[event_type]:
            stale.append(event_type)
    stale += sorted(set(generated) - set(on_disk))
    return problems, stale


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    problems, stale = compatibility_report()
    for problem in problems:
        print(f"BREAKING  {problem}")
    if command == "export":
        if problems:
            print("refusing to export: publish a new type version (.vN+1) instead", file=sys.stderr)
            return 1
        SCHEMA_DIR.mkdir(exist_ok=True)
        for event_type, schema in generate().items():
            (SCHEMA_DIR / f"{event_type}.json").write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        print(f"wrote {len(EVENT_TYPES)} schemas to {SCHEMA_DIR}")
        return 0
    for event_type in stale:
        print(f"STALE     {event_type}: run `python -m ekspora_contracts.schemas export`")
    return 1 if problems or stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
