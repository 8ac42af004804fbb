"""Generates the topic and event tables of contracts/README.md; a test keeps them equal.

python -m ekspora_contracts.docs           # print the tables
python -m ekspora_contracts.docs --write   # rewrite them in contracts/README.md
"""

import sys
from pathlib import Path

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


README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- catalogue:start", "<!-- catalogue:end"


def write_readme() -> None:
    text = README.read_text()
    head, rest = text.split(START, 1)
    marker, _ = rest.split("-->\n", 1)
    _, tail = rest.split(END, 1)
    README.write_text(f"{head}{START}{marker}-->\n{catalogue_markdown()}\n{END}{tail}")


if __name__ == "__main__":
    if "--write" in sys.argv:
        write_readme()
    else:
        print(catalogue_markdown())
