"""Go to marketplace on the real store: the catalogue as a seller centre's sheet, its order exports
imported all or nothing and each line once, and a listing that counts only with sales behind it."""

import io

from openpyxl import load_workbook

from ekspora_contracts.topics import REGISTRY_MSME
from ekspora_kit.files import XLSX
from ekspora_ops.shops import last_sale_day, sales_export
from tests.integration.test_registry import Registry, events_of

SHOPEE = {"platform": "shopee", "url": "https://shopee.co.id/tahutakwalestari"}


def marketplace_points(msme: dict) -> int:
    return next(c["points"] for c in msme["assessment"]["criteria"] if c["criterion"] == "marketplace")


async def test_the_catalogue_sheet_holds_the_products_and_imported_sales_count_once_and_make_the_listing_count(
    platform,
):
    registry = Registry(platform.start("registry").url, platform.region)
    msme_id, product_id = await registry.umkm(listings=0, certificates=("pirt", "halal"))
    client = registry.client

    sheet = await client.get(f"/msmes/{msme_id}/marketplace/shopee/catalogue")
    assert sheet.status_code == 200 and sheet.headers["content-type"] == XLSX
    rows = [list(r) for r in load_workbook(io.BytesIO(sheet.content))["Template"].iter_rows(values_only=True)]
    labels, [tahu] = rows[1], rows[2:]
    row = dict(zip(labels, tahu, strict=True))
    assert (row["SKU Induk"], row["Nama Produk"], row["Harga"], row["Berat"]) == (product_id, "Tahu Takwa", 25_000, 580)
    assert "Bersertifikat: HALAL, PIRT." in row["Deskripsi Produk"]
    none = await client.get(f"/msmes/{msme_id}/marketplace/own_website/catalogue")
    assert none.status_code == 404 and "shopee, tokopedia" in none.json()["message"]

    good, kind = sales_export("shopee", [(product_id, 24_000)], last_sale_day(), orders=3)
    path = f"/msmes/{msme_id}/marketplace/shopee/sales"
    unlisted = await client.post(path, content=good, headers={"content-type": kind})
    assert unlisted.status_code == 409 and unlisted.json()["errors"][0]["field"] == "platform"
    await registry.ok("POST", f"/msmes/{msme_id}/listings", SHOPEE)
    listed = await registry.get(msme_id)
    assert marketplace_points(listed) == 0 and "marketplace.no_sales" in [
        g["code"] for g in listed["assessment"]["gaps"]
    ]
    assert listed["assessment"]["score"] == 80, "a typed URL earns nothing"

    pdf = await client.post(path, content=b"%PDF-1.4", headers={"content-type": "application/pdf"})
    assert pdf.status_code == 415 and pdf.json()["errors"][0]["field"] == "content-type"
    broken, _ = sales_export("shopee", [(product_id, 24_000), ("prd-not-ours", 1_000)], last_sale_day(), orders=2)
    refused = await client.post(path, content=broken, headers={"content-type": kind})
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["line 3: SKU Induk", "line 5: SKU Induk"]
    assert (await registry.get(msme_id))["marketplace_sales"] == {}, "nothing of a refused file is kept"

    first = await client.post(path, content=good, headers={"content-type": kind}, params={"filename": "Order.all.xlsx"})
    assert first.status_code == 200, first.text
    imported = first.json()
    assert (imported["new_lines"], imported["already_imported"]) == (3, 0)
    assert imported["totals"]["orders"] == 3 and imported["totals"]["units"] == 2 + 3 + 4
    assert imported["totals"]["revenue_idr"] == 9 * 24_000
    assert (imported["tier"], imported["score"]) == ("siap", 85)

    again = (await client.post(path, content=good, headers={"content-type": kind})).json()
    assert (again["new_lines"], again["already_imported"]) == (0, 3), "the same export twice counts once"
    assert again["totals"]["units"] == 9
    longer, _ = sales_export("shopee", [(product_id, 24_000)], last_sale_day(), orders=5)
    later = (await client.post(path, content=longer, headers={"content-type": kind})).json()
    assert (later["new_lines"], later["already_imported"]) == (2, 3), "a later export adds only its new orders"
    assert later["totals"]["units"] == 2 + 3 + 4 + 5 + 6 and later["totals"]["orders"] == 5

    msme = await registry.get(msme_id)
    assert marketplace_points(msme) == 5 and msme["marketplace_sales"]["shopee"]["orders"] == 5
    assessed = [
        e
        for e in await events_of(platform.topic(REGISTRY_MSME), msme_id)
        if e["type"].endswith("readiness.assessed.v2")
    ]
    assert ("siap", "marketplace_sales_imported:shopee") in [
        (e["data"]["tier"], e["data"]["trigger"]) for e in assessed
    ]
