"""Generates the topic and event tables of contracts/README.md; a test keeps them equal.

python -m ekspora_contracts.docs
"""

from ekspora_contracts.catalog import EVENT_TYPES
from ekspora_contracts.topics import CATALOGUE


def catalogue_markdown() -> str:
    lines = [
        "| topic | partitions | producer | visibility | events |",
        "|---|---|---|---|---|",
    ]
    for stream in CATALOGUE:
        events = sorted(t for t, model in EVENT_TYPES.items() if model.stream == stream)
        listed = "<br>".join(f"`{t}`" for t in events) or "—"
        compacted = ", compacted" if stream.compacted else ""
        lines.append(
            f"| `{stream.topic('<region>')}` | {stream.partitions} | {stream.producer} "
            f"| {stream.visibility}{compacted} | {listed} |"
        )
    lines += ["", "| topic | what it carries |", "|---|---|"]
    lines += [f"| `{stream.topic('<region>')}` | {stream.description} |" for stream in CATALOGUE]
    return "\n".join(lines)


if __name__ == "__main__":
    print(catalogue_markdown())
