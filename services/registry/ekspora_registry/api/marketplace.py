"""Go to marketplace: the catalogue as a seller centre's mass-upload sheet, and its order exports
imported as sales, which make a listing count for readiness."""

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from ekspora_kit.auth import Operator
from ekspora_kit.domain import NotAllowed, NotFound
from ekspora_kit.files import SPREADSHEETS, XLSX, read_upload
from ekspora_registry import domain
from ekspora_registry.api.deps import Registry
from ekspora_registry.domain.readiness import local_today
from ekspora_registry.marketplace import catalogue_xlsx, read_sales

router = APIRouter(tags=["marketplace"])
MARKETPLACE = "/msmes/{msme_id}/marketplace/{platform}"


class SalesImported(BaseModel):
    platform: domain.Marketplace
    lines_counted: int
    new_lines: int
    already_imported: int
    skipped: dict[str, int]
    totals: domain.PlatformSales | None
    score: int | None
    tier: str | None


@router.get(
    f"{MARKETPLACE}/catalogue",
    response_class=Response,
    summary="The UMKM's products as the marketplace's mass-upload sheet (XLSX)",
    description="One row per product; SKU is the product id, which the sales import reads back.",
    responses={200: {"content": {XLSX: {}}}},
)
async def catalogue(operator: Operator, registry: Registry, msme_id: str, platform: domain.Marketplace) -> Response:
    msme = await registry.visible(operator, msme_id)
    sheet = registry.marketplaces.catalogue(platform)
    if sheet is None:
        known = ", ".join(registry.marketplaces.platforms)
        raise NotFound(f"no mass-upload template for {platform}; there is one for {known}")
    if not msme.products:
        raise NotAllowed("the UMKM has no products to list yet")
    content = catalogue_xlsx(msme.products, sheet, registry.marketplaces.packed_weight_factor)
    filename = f"{platform}-mass-upload-{msme_id}.xlsx"
    return Response(content, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@router.post(
    f"{MARKETPLACE}/sales",
    response_model=SalesImported,
    summary="Import the seller centre's order export (XLSX or CSV, as the body); completed lines become sales",
    description=(
        "All or nothing: a file with a bad line is refused with each bad line named, and nothing is kept. "
        "Each order line counts once, however often an export holding it is imported."
    ),
    responses={413: {"description": "Larger than the limit"}, 415: {"description": "Not XLSX or CSV"}},
)
async def import_sales(
    operator: Operator,
    registry: Registry,
    msme_id: str,
    platform: domain.Marketplace,
    request: Request,
    filename: str = Query(default="orders", min_length=1, max_length=200, pattern=r"^[\w .()-]+$"),
) -> SalesImported:
    msme = await registry.visible(operator, msme_id)
    if not any(listing.platform == platform for listing in msme.listings):  # refused before the file is read
        raise NotAllowed(f"add the UMKM's {platform} listing before importing its sales", field="platform")
    upload = await read_upload(
        request, filename=filename, max_bytes=registry.sales_file_max_bytes, accepted=SPREADSHEETS
    )
    now = registry.service.clock.now()
    sales = read_sales(
        upload.content,
        upload.content_type,
        registry.marketplaces.sales_format(platform),
        {product.product_id: product.product_id for product in msme.products},
        local_today(now, msme.profile.timezone),
    )
    new = await registry.store.keep_sale_lines(msme_id, platform, sales.counted)
    totals = await registry.store.sales_totals(msme_id, platform, now)
    if totals is not None:
        msme = await registry.apply(operator, msme_id, domain.record_marketplace_sales, platform, totals)
    return SalesImported(
        platform=platform,
        lines_counted=len(sales.counted),
        new_lines=new,
        already_imported=len(sales.counted) - new,
        skipped=sales.skipped,
        totals=totals,
        score=msme.assessment.score if msme.assessment else None,
        tier=msme.tier,
    )
