"""What reading a seller centre's order export costs the registry, by size, against the bare reading
of the same file in one run: the price of checking every line before anything is kept (issue 19).

    .venv/bin/python bench/sales_import.py [--sizes 1000 10000 50000] [--repeats 3]

For each size an order export of completed lines is written twice, as Shopee's workbook (XLSX) and as
the generic CSV sheet, in the layouts of data/marketplaces.yaml. The baseline reads the rows and
nothing else (openpyxl's read-only iteration, the csv module); the import finds the header, checks
and parses every line (order number, SKU, quantity, rupiah, date, status) into sale lines. Times
are medians of `--repeats`; memory is the peak traced while reading. No server is needed.
"""

import argparse
import csv
import io
import statistics
import time
import tracemalloc
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial

from openpyxl import load_workbook

from ekspora_kit.files import XLSX
from ekspora_kit.table import table
from ekspora_ops.shops import sales_export
from ekspora_registry.marketplace import load_marketplaces, read_sales

TODAY = date(2026, 12, 3)
SKUS = {f"prd-{n:04d}": f"prd-{n:04d}" for n in range(40)}
MARKETPLACES = load_marketplaces()


def measured(work: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(median seconds, peak MiB)."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    tracemalloc.start()
    work()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return statistics.median(times), peak


def bare_read(content: bytes, kind: str) -> int:
    """The rows, and nothing else."""
    if kind == XLSX:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        return sum(1 for _ in workbook.worksheets[0].iter_rows(values_only=True))
    return sum(1 for _ in csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 50_000], help="order lines")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        orders = size // len(SKUS)
        sold = [(sku, 25_000) for sku in SKUS]
        print(f"  {size:,} lines: writing the exports ...", flush=True)
        files = {
            "XLSX (Shopee)": (sales_export("shopee", sold, TODAY - timedelta(days=1), orders), "shopee"),
            "CSV (generic)": (sales_export("own_website", sold, TODAY - timedelta(days=1), orders), "own_website"),
        }
        for label, ((content, kind), platform) in files.items():
            form = MARKETPLACES.sales_format(platform)
            lines = len(read_sales(content, kind, form, SKUS, TODAY).counted)
            print(f"  {size:,} lines, {label}: reading ({lines:,} sale lines) ...", flush=True)
            bare_s, bare_mib = measured(partial(bare_read, content, kind), args.repeats)
            full_s, full_mib = measured(partial(read_sales, content, kind, form, SKUS, TODAY), args.repeats)
            rows.append(
                (
                    f"{lines:,}",
                    label,
                    f"{len(content) / 2**20:.1f}",
                    f"{bare_s * 1000:,.0f}",
                    f"{full_s * 1000:,.0f}",
                    f"{full_s / bare_s:.1f}x",
                    f"{lines / full_s:,.0f}",
                    f"{bare_mib:.1f}",
                    f"{full_mib:.1f}",
                )
            )
    print()
    headings = ("lines", "file", "MiB", "bare read ms", "import ms", "vs bare", "lines/s", "bare MiB", "import MiB")
    print(table(headings, rows))


if __name__ == "__main__":
    main()
