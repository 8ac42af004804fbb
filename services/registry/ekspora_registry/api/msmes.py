"""UMKM: registration, profile, NIB verification, marketplace listings, assessment history, withdrawal."""

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from ekspora_contracts.envelope import REGION_PATTERN
from ekspora_contracts.registry import NIB_PATTERN, Tier
from ekspora_kit.auth import Operator
from ekspora_kit.http import Conflict
from ekspora_registry import domain
from ekspora_registry.api.deps import Registry
from ekspora_registry.store import DuplicateNib

router = APIRouter(tags=["UMKM"])
TIERS: tuple[Tier, ...] = ("siap", "setengah", "didorong")


class MsmeSummary(BaseModel):
    """An UMKM as a list shows it; `GET /msmes/{msme_id}` has all of it."""

    msme_id: str
    number: int = Field(description="its number in the region's list, in order of registration")
    business_name: str
    owner_name: str
    sector: str
    kecamatan: str
    tier: Tier | None
    score: int | None
    products: int = Field(description="how many products it has listed")
    cohort_id: str | None = Field(description="the incubation cohort it is enrolled in")
    withdrawn: bool


class MsmePage(BaseModel):
    items: list[MsmeSummary]
    total: int
    page: int
    page_size: int
    numbers: list[int] = Field(
        description="each item's number in the region's list: the next page is `after` the last, the previous "
        "`before` the first"
    )


@router.post(
    "/msmes", status_code=201, response_model=domain.Msme, responses={409: {"description": "NIB already registered"}}
)
async def register_msme(operator: Operator, registry: Registry, command: domain.RegisterMsme) -> domain.Msme:
    registry.check_served(command.region, operator)
    try:
        return await registry.service.register(command)
    except DuplicateNib:
        raise Conflict(f"an UMKM with NIB {command.nib} is already registered", field="nib") from None


@router.get("/msmes", response_model=MsmePage)
async def list_msmes(
    operator: Operator,
    registry: Registry,
    region: str = Query(pattern=REGION_PATTERN),
    tier: Tier | None = None,
    sector: domain.Sector | None = None,
    kecamatan: str | None = Query(default=None, max_length=80),
    cohort_id: str | None = Query(default=None, max_length=80, description="the UMKM enrolled in this cohort"),
    nib: str | None = Query(default=None, pattern=NIB_PATTERN, description="the UMKM with this NIB, if registered"),
    page: int = Query(default=1, ge=1, le=1_000_000),
    page_size: int = Query(default=50, ge=1, le=200),
    after: int | None = Query(
        default=None, ge=0, le=1_000_000_000, description="the page right after this number (see `numbers`)"
    ),
    before: int | None = Query(default=None, ge=0, le=1_000_000_000, description="the page right before this number"),
) -> MsmePage:
    registry.check_served(region, operator)
    listed = await registry.store.page(
        region,
        filters={"tier": tier, "sector": sector, "kecamatan": kecamatan, "cohort_id": cohort_id, "nib": nib},
        skip=(page - 1) * page_size,
        limit=page_size,
        after=after,
        before=before,
    )
    items = [MsmeSummary.model_validate(item) for item in listed.items]
    return MsmePage(items=items, total=listed.total, page=page, page_size=page_size, numbers=listed.numbers)


class Funnel(BaseModel):
    region: str
    registered: int
    tiers: dict[Tier, int]
    unassessed: int
    in_incubation: int
    graduated: int = Field(description="graduations: an UMKM that graduates from a second enrolment counts twice")


@router.get(
    "/funnel",
    response_model=Funnel,
    summary="How many of a region's UMKM are at each step",
    description="Counted from the registry's own events as they are published, so a change shows here a moment "
    "after it is made.",
)
async def funnel(operator: Operator, registry: Registry, region: str = Query(pattern=REGION_PATTERN)) -> Funnel:
    registry.check_served(region, operator)
    counted = await registry.store.funnel(region)
    return Funnel(
        region=region,
        registered=counted.get("registered", 0),
        tiers={tier: counted.get(tier, 0) for tier in TIERS},
        unassessed=counted.get("unassessed", 0),
        in_incubation=counted.get("in_incubation", 0),
        graduated=counted.get("graduated", 0),
    )


@router.get("/msmes/{msme_id}", response_model=domain.Msme)
async def get_msme(operator: Operator, registry: Registry, msme_id: str) -> domain.Msme:
    return await registry.visible(operator, msme_id)


@router.patch("/msmes/{msme_id}", response_model=domain.Msme)
async def update_msme(operator: Operator, registry: Registry, msme_id: str, command: domain.UpdateMsme) -> domain.Msme:
    return await registry.apply(operator, msme_id, domain.update_profile, command)


@router.post(
    "/msmes/{msme_id}/nib-verification",
    response_model=domain.Msme,
    summary="An operator confirms the NIB against the OSS system",
)
async def verify_nib(operator: Operator, registry: Registry, msme_id: str) -> domain.Msme:
    return await registry.apply(operator, msme_id, domain.verify_nib)


@router.post(
    "/msmes/{msme_id}/listings", status_code=201, response_model=domain.Msme, summary='A "go to marketplace" listing'
)
async def add_listing(operator: Operator, registry: Registry, msme_id: str, command: domain.AddListing) -> domain.Msme:
    return await registry.apply(operator, msme_id, domain.add_listing, command)


@router.get(
    "/msmes/{msme_id}/assessments",
    response_model=list[domain.Assessment],
    tags=["readiness"],
    summary="Assessment history, newest first",
)
async def assessment_history(operator: Operator, registry: Registry, msme_id: str) -> list[domain.Assessment]:
    await registry.visible(operator, msme_id)
    return await registry.store.history(msme_id)


@router.delete(
    "/msmes/{msme_id}",
    response_model=domain.Msme,
    summary="Withdraw an UMKM: kept for history, its products leave export, no more changes",
)
async def withdraw_msme(operator: Operator, registry: Registry, msme_id: str, body: domain.Withdrawal) -> domain.Msme:
    return await registry.apply(operator, msme_id, domain.withdraw, body.reason)
