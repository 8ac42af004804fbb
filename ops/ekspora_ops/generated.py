"""Files generated from the code and committed (AsyncAPI, Kubernetes manifests): write or check."""

import argparse
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def write_or_check(argv: list[str], *, description: str, module: str, render: Callable[[], dict[Path, str]]) -> int:
    """`--write` rewrites the files; `--check` (the default) exits 1 when one differs from `render()`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--write", action="store_true", help="rewrite the committed files")
    parser.add_argument("--check", action="store_true", help="exit 1 when a committed file is stale (default)")
    args = parser.parse_args(argv)
    files = render()
    if args.write:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)} ({len(text.splitlines())} lines)")
        return 0
    stale = [path for path, text in files.items() if not path.exists() or path.read_text() != text]
    for path in stale:
        print(f"{path.relative_to(ROOT)} is stale: run python -m {module} --write")
    if not stale:
        print(f"{len(files)} generated file(s) match the code")
    return 1 if stale else 0
