"""Go to marketplace: catalogue sheets as the seller centres take them, their order exports read back
all or nothing, and a listing that counts once its sales are in."""

import csv
import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import Workbook, load_workbook

from ekspora_kit.domain import NotAllowed
from ekspora_kit.files import XLSX
from ekspora_registry import domain
from ekspora_registry.marketplace import (
    MARKETPLACES_PATH,
    LinesRefused,
    Marketplaces,
    catalogue_xlsx,
    load_marketplaces,
    read_sales,
)
from tests.unit.test_readiness_rubric import RUBRIC, SOLD, cert, msme, product

MARKETPLACES = load_marketplaces()
TODAY = date(2026, 11, 28)
NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
SKUS = {"prd-tahu": "prd-tahu", "prd-stik": "prd-stik"}


def products() -> list[domain.Product]:
    tahu = product(certificates=(cert("pirt"), cert("halal", verified=False))).model_copy(
        update={"product_id": "prd-tahu", "name": "Tahu Takwa", "net_weight_grams": 500}
    )
    stik = product("snack", price=18_000).model_copy(
        update={"product_id": "prd-stik", "name": "Stik Tahu", "net_weight_grams": 200}
    )
    return [tahu, stik]


@pytest.mark.parametrize("platform", ["shopee", "tokopedia"])
def test_catalogue_sheets_read_back_by_a_spreadsheet_library_hold_every_product(platform):
    catalogue = MARKETPLACES.platforms[platform].catalogue
    sheet = load_workbook(io.BytesIO(catalogue_xlsx(products(), catalogue, 1.15)))[catalogue.sheet]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    headers = len(catalogue.header_rows)
    assert rows[:headers] == catalogue.header_rows
    labels = rows[headers - 1]
    by_label = [dict(zip(labels, row, strict=True)) for row in rows[headers:]]
    assert len(by_label) == 2
    sku, price, weight, category = {
        "shopee": ("SKU Induk", "Harga", "Berat", "Kategori"),
        "tokopedia": ("SKU Name", "Harga (Rp)*", "Berat* (Gram)", "Kategori Kode*"),
    }[platform]
    tahu, stik = by_label
    assert (tahu[sku], tahu[price], stik[sku], stik[price]) == ("prd-tahu", 25_000, "prd-stik", 18_000)
    assert (tahu[weight], stik[weight]) == (580, 230), "net weight and 15% packaging, rounded up to 10 g"
    assert tahu[category] == catalogue.category_codes["processed_food"]
    assert stik[category] == catalogue.category_codes["snack"]
    name = "Nama Produk" if platform == "shopee" else "Nama Produk*"
    description = "Deskripsi Produk"
    assert (tahu[name], stik[name]) == ("Tahu Takwa", "Stik Tahu")
    assert "Bersertifikat: PIRT." in tahu[description], "a certificate counts only once its scan is verified"


def shopee_export(rows: list[list]) -> bytes:
    headers = ["No. Pesanan", "Status Pesanan", "Waktu Pesanan Dibuat", "SKU Induk", "Nama Produk", "Jumlah"]
    headers += ["Harga Setelah Diskon", "Kota/Kabupaten"]
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


GOOD_SHOPEE = [
    ["2611280001", "Selesai", "2026-11-20 10:15", "prd-tahu", "Tahu Takwa", 4, 25000, "KOTA SURABAYA"],
    ["2611280001", "Selesai", "2026-11-20 10:15", "prd-stik", "Stik Tahu", 2, "Rp18.000", "KOTA SURABAYA"],
    ["2611280002", "Batal", "2026-11-21 09:00", "prd-tahu", "Tahu Takwa", 10, 25000, "KOTA MALANG"],
    ["2611280003", "Sedang Dikirim", "2026-11-27 19:30", "prd-tahu", "Tahu Takwa", 3, 25000, "KAB. KEDIRI"],
    ["2611280004", "Selesai", datetime(2026, 11, 25, 8, 0), "prd-tahu", "Tahu Takwa", 6, "25.000,00", None],
]


def test_a_shopee_export_becomes_its_completed_lines_and_the_rest_is_reported():
    sales = read_sales(shopee_export(GOOD_SHOPEE), XLSX, MARKETPLACES.sales_format("shopee"), SKUS, TODAY)
    assert [(line.order_id, line.product_id, line.quantity, line.unit_price_idr) for line in sales.counted] == [
        ("2611280001", "prd-tahu", 4, 25_000),
        ("2611280001", "prd-stik", 2, 18_000),
        ("2611280004", "prd-tahu", 6, 25_000),
    ]
    assert [line.ordered_on for line in sales.counted] == [date(2026, 11, 20), date(2026, 11, 20), date(2026, 11, 25)]
    assert [line.line for line in sales.counted] == [2, 3, 6], "lines as the spreadsheet numbers them"
    assert sales.skipped == {"Batal": 1, "Sedang Dikirim": 1}
    assert sales.counted[0].buyer_city == "KOTA SURABAYA" and sales.counted[2].buyer_city is None


def tokopedia_csv(rows: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow(["Laporan Penjualan Toko Tahu Takwa Bu Tini"])
    writer.writerow(["Periode: 01-11-2026 - 28-11-2026"])
    writer.writerow([])
    writer.writerow(
        [
            "Nomor Invoice",
            "Tanggal Pembayaran",
            "Status Terakhir",
            "Nama Produk",
            "Nomor SKU",
            "Jumlah Produk Dibeli",
            "Harga Jual (IDR)",
            "Kota Pembeli",
        ]
    )
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def test_a_tokopedia_csv_with_its_title_rows_is_read_from_its_header():
    rows = [
        ["INV/20261120/MPL/1", "20-11-2026 10:00:00", "Pesanan Selesai", "Tahu", "prd-tahu", "5", "26.000", "Kediri"]
    ]
    sales = read_sales(tokopedia_csv(rows), "text/csv", MARKETPLACES.sales_format("tokopedia"), SKUS, TODAY)
    assert [(s.order_id, s.quantity, s.unit_price_idr, s.ordered_on, s.line) for s in sales.counted] == [
        ("INV/20261120/MPL/1", 5, 26_000, date(2026, 11, 20), 5)
    ]


BROKEN = [
    # (what is wrong, the row, the field named, words of the message)
    (
        "a quantity in words",
        ["9", "Selesai", "2026-11-20 10:15", "prd-tahu", "x", "empat", 25000, ""],
        "Jumlah",
        "whole",
    ),
    (
        "a price that is not rupiah",
        ["9", "Selesai", "2026-11-20", "prd-tahu", "x", 1, "25 ribu", ""],
        "Harga",
        "rupiah",
    ),
    (
        "a SKU not of this UMKM",
        ["9", "Selesai", "2026-11-20", "prd-other", "x", 1, 25000, ""],
        "SKU Induk",
        "not the SKU",
    ),
    (
        "a date that is not one",
        ["9", "Selesai", "kemarin", "prd-tahu", "x", 1, 25000, ""],
        "Waktu Pesanan",
        "not a date",
    ),
    ("a sale in the future", ["9", "Selesai", "2026-12-30", "prd-tahu", "x", 1, 25000, ""], "Waktu Pesanan", "future"),
    ("a status nobody knows", ["9", "Done", "2026-11-20", "prd-tahu", "x", 1, 25000, ""], "Status Pesanan", "unknown"),
    ("no order number", ["", "Selesai", "2026-11-20", "prd-tahu", "x", 1, 25000, ""], "No. Pesanan", "no order"),
    ("zero sold", ["9", "Selesai", "2026-11-20", "prd-tahu", "x", 0, 25000, ""], "Jumlah", "at least 1"),
    ("a line twice", ["2611280001", "Selesai", "2026-11-20", "prd-tahu", "x", 1, 25000, ""], "", "again"),
]


@pytest.mark.parametrize(("case", "row", "field", "words"), BROKEN, ids=[c[0] for c in BROKEN])
def test_a_broken_line_refuses_the_whole_file_naming_its_line(case, row, field, words):
    content = shopee_export([*GOOD_SHOPEE, row])
    with pytest.raises(LinesRefused) as refused:
        read_sales(content, XLSX, MARKETPLACES.sales_format("shopee"), SKUS, TODAY)
    assert refused.value.status_code == 422 and "nothing imported" in refused.value.message
    [(where, message)] = refused.value.errors
    assert where.startswith("line 7") and field in where, where
    assert words in message, message


def test_every_bad_line_is_named_at_once_and_a_file_of_another_kind_is_refused_by_its_header():
    rows = [
        ["1", "Selesai", "2026-11-20", "prd-x", "x", "dua", 25000, ""],
        ["2", "Selesai", "x", "prd-tahu", "x", 1, 1, ""],
    ]
    with pytest.raises(LinesRefused) as refused:
        read_sales(shopee_export(rows), XLSX, MARKETPLACES.sales_format("shopee"), SKUS, TODAY)
    assert [where for where, _ in refused.value.errors] == [
        "line 2: SKU Induk",
        "line 2: Jumlah",
        "line 3: Waktu Pesanan Dibuat",
    ]
    with pytest.raises(LinesRefused, match="is this a Tokopedia") as other:
        read_sales(shopee_export(GOOD_SHOPEE), XLSX, MARKETPLACES.sales_format("tokopedia"), SKUS, TODAY)
    assert other.value.field == "file"
    with pytest.raises(LinesRefused, match="could not be read"):
        read_sales(b"PK\x03\x04 not really a workbook", XLSX, MARKETPLACES.sales_format("shopee"), SKUS, TODAY)
    with pytest.raises(LinesRefused, match="not UTF-8"):
        read_sales("Nomor;Status\n".encode("utf-16"), "text/csv", MARKETPLACES.sales_format("shopee"), SKUS, TODAY)


def test_platforms_without_a_template_use_the_generic_sheet():
    content = b"order_id,status,ordered_at,sku,quantity,unit_price_idr\nW-1,completed,2026-11-02,prd-stik,12,17500\n"
    sales = read_sales(content, "text/csv", MARKETPLACES.sales_format("own_website"), SKUS, TODAY)
    assert [(s.order_id, s.quantity, s.unit_price_idr) for s in sales.counted] == [("W-1", 12, 17_500)]
    assert MARKETPLACES.catalogue("own_website") is None


def test_the_marketplace_data_is_checked_when_loaded():
    data = load_marketplaces(MARKETPLACES_PATH).model_dump(by_alias=True)
    data["platforms"]["shopee"]["catalogue"]["header_rows"][0].pop()
    with pytest.raises(ValueError, match="one cell per column"):
        Marketplaces.model_validate(data)
    data = load_marketplaces(MARKETPLACES_PATH).model_dump(by_alias=True)
    data["platforms"]["tokopedia"]["catalogue"]["columns"][0] = {"from": "colour"}
    with pytest.raises(ValueError, match="no product field colour"):
        Marketplaces.model_validate(data)
    data = load_marketplaces(MARKETPLACES_PATH).model_dump(by_alias=True)
    del data["generic_sales"]["columns"]["quantity"]
    with pytest.raises(ValueError, match="no header named"):
        Marketplaces.model_validate(data)


def test_imported_sales_make_a_listing_count_and_need_the_listing_first():
    unlisted = msme(verified=False).model_copy(update={"products": [products()[0]]})
    with pytest.raises(NotAllowed, match="add the UMKM's shopee listing"):
        domain.record_marketplace_sales(unlisted, "shopee", SOLD, NOW, RUBRIC)
    listed = domain.add_listing(
        unlisted,
        domain.AddListing.model_validate({"platform": "shopee", "url": "https://shopee.co.id/tahu"}),
        NOW,
        RUBRIC,
    ).msme
    assert listed.assessment is not None
    before = next(c for c in listed.assessment.criteria if c.criterion == "marketplace")
    assert before.points == 0 and "marketplace.no_sales" in [g.code for g in listed.assessment.gaps]
    change = domain.record_marketplace_sales(listed, "shopee", SOLD, NOW, RUBRIC)
    assert change.msme.assessment is not None
    after = next(c for c in change.msme.assessment.criteria if c.criterion == "marketplace")
    assert (after.points, after.detail) == (5, "1 marketplace listing(s), 1 with sales imported")
    assert change.msme.marketplace_sales["shopee"] == SOLD
    assert change.msme.assessment.trigger == "marketplace_sales_imported:shopee"
