"""Marketplace shops as an operator sets them up: the listing added, then the seller centre's order
export imported (in the layout that marketplace exports), so the listing counts for readiness."""

import csv
import io
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import httpx
from openpyxl import Workbook

from ekspora_kit.clock import WIB, Clock
from ekspora_kit.files import XLSX

Sold = tuple[str, int]  # product id, unit price in rupiah
# The headers each seller centre's order export has (the registry reads them through its own data,
# data/marketplaces.yaml), and the status of a completed order; the generic sheet for the others.
EXPORTS = {
    "shopee": (
        {
            "order_id": "No. Pesanan",
            "status": "Status Pesanan",
            "ordered_at": "Waktu Pesanan Dibuat",
            "sku": "SKU Induk",
            "quantity": "Jumlah",
            "unit_price_idr": "Harga Setelah Diskon",
            "buyer_city": "Kota/Kabupaten",
        },
        "Selesai",
    ),
    "tokopedia": (
        {
            "order_id": "Nomor Invoice",
            "status": "Status Terakhir",
            "ordered_at": "Tanggal Pembayaran",
            "sku": "Nomor SKU",
            "quantity": "Jumlah Produk Dibeli",
            "unit_price_idr": "Harga Jual (IDR)",
            "buyer_city": "Kota Pembeli",
        },
        "Pesanan Selesai",
    ),
}
GENERIC = ({field: field for field in EXPORTS["shopee"][0]}, "completed")


def last_sale_day() -> date:
    """Yesterday in Kediri: a sale dated later would be in the future for a registry a moment behind."""
    return Clock.from_environment().today(WIB) - timedelta(days=1)


def export_rows(platform: str, sold: Sequence[Sold], until: date, orders: int) -> list[list[Any]]:
    """`orders` completed orders, one a week back from `until`, each of every product sold."""
    headers, completed = EXPORTS.get(platform, GENERIC)
    fields = list(headers)
    rows: list[list[Any]] = [[headers[field] for field in fields]]
    for number in range(orders):
        day = until - timedelta(days=7 * number)
        for product_id, price in sold:
            line = {
                "order_id": f"{platform[:3].upper()}-{day:%y%m%d}-{number + 1:03d}",
                "status": completed,
                "ordered_at": f"{day.isoformat()} 10:00",
                "sku": product_id,
                "quantity": 2 + number,
                "unit_price_idr": price,
                "buyer_city": "Surabaya",
            }
            rows.append([line[field] for field in fields])
    return rows


def sales_export(platform: str, sold: Sequence[Sold], until: date, orders: int = 3) -> tuple[bytes, str]:
    """The export's bytes and type: Shopee's is a workbook, the others CSV."""
    rows = export_rows(platform, sold, until, orders)
    if platform == "shopee":
        workbook = Workbook()
        sheet = workbook.active
        assert sheet is not None
        for row in rows:
            sheet.append(row)
        buffer = io.BytesIO()
        workbook.save(buffer)
        return buffer.getvalue(), XLSX
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode(), "text/csv"


def _steps(msme_id: str, listing: dict[str, str], sold: Sequence[Sold], until: date) -> list[tuple[str, str, dict]]:
    content, content_type = sales_export(listing["platform"], sold, until)
    return [
        ("POST", f"/msmes/{msme_id}/listings", {"json": listing}),
        (
            "POST",
            f"/msmes/{msme_id}/marketplace/{listing['platform']}/sales",
            {"content": content, "headers": {"content-type": content_type}, "params": {"filename": "orders"}},
        ),
    ]


def open_shop(client: httpx.Client, msme_id: str, listing: dict[str, str], sold: Sequence[Sold], until: date) -> dict:
    """Adds the listing and imports its sales; what the import answered."""
    response = None
    for method, path, request in _steps(msme_id, listing, sold, until):
        response = client.request(method, path, **request)
        if response.status_code != 409 or method != "POST" or not path.endswith("/listings"):
            response.raise_for_status()  # a listing already there (a repeated run) is left as it is
    assert response is not None
    return response.json()


async def opened_shop(
    client: httpx.AsyncClient, msme_id: str, listing: dict[str, str], sold: Sequence[Sold], until: date
) -> dict:
    """`open_shop` for an asynchronous client."""
    response = None
    for method, path, request in _steps(msme_id, listing, sold, until):
        response = await client.request(method, path, **request)
        if response.status_code != 409 or not path.endswith("/listings"):
            response.raise_for_status()
    assert response is not None
    return response.json()
