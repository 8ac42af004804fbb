"""HTTP API for operators: validate, call the use case, map refusals to 404/409/422."""

from collections.abc import Callable
from datetime import date
from typing import Annotated
from uuid import uuid4

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from ekspora_contracts.envelope import REGION_PATTERN
from ekspora_contracts.registry import CertificateKind, Tier
from ekspora_kit.auth import Forbidden, operator_region, parse_operator_tokens
from ekspora_kit.http import Conflict, NotFound, Unprocessable, refusals
from ekspora_registry import domain
from ekspora_registry.rubric import Rubric
from ekspora_registry.service import RegistryService
from ekspora_registry.store import DuplicateNib, RegistryStore


class MsmePage(BaseModel):
    items: list[domain.Msme]
    total: int
    page: int
    page_size: int


class ProductView(BaseModel):
    msme_id: str
    product: domain.Product


class NewCohort(domain.Model):
    region: str = Field(pattern=REGION_PATTERN)
    name: str = Field(min_length=3, max_length=120, examples=["UMKM Kita Bisa Kota Kediri 2026/1"])
    starts_on: date
    ends_on: date | None = None


class Enrolment(domain.Model):
    msme_id: str


class MemberProgress(BaseModel):
    msme_id: str
    business_name: str
    tier: Tier | None
    score: int | None
    milestones_done: int
    milestones_total: int
    graduated: bool


class CohortView(BaseModel):
    cohort: domain.Cohort
    members: list[MemberProgress]


def build_router(
    service: RegistryService, store: RegistryStore, rubric: Rubric, regions: list[str], operator_tokens: str
) -> APIRouter:
    router = APIRouter()
    served = set(regions)

    Operator = Annotated[str, Depends(operator_region(parse_operator_tokens(operator_tokens)))]

    def check_served(region: str, operator: str) -> None:
        if region not in served:
            raise Unprocessable(f"region {region} is not served here ({', '.join(sorted(served))})", field="region")
        if region != operator:
            raise Forbidden(f"your operator token is for {operator}, not {region}")

    def in_region(msme: domain.Msme | None, operator: str, msme_id: str) -> domain.Msme:
        """Operators see their region's UMKM only; another region's is as if it did not exist."""
        if msme is None or msme.region != operator:
            raise NotFound(f"no UMKM with id {msme_id}")
        return msme

    def apply(operator: str, msme_id: str, rule: Callable[..., domain.Change | None], *args: object):
        return service.change(msme_id, lambda msme, now: rule(in_region(msme, operator, msme_id), *args, now, rubric))

    @router.post(
        "/msmes",
        status_code=201,
        response_model=domain.Msme,
        tags=["UMKM"],
        responses={409: {"description": "NIB already registered"}},
    )
    async def register_msme(operator: Operator, command: domain.RegisterMsme) -> domain.Msme:
        check_served(command.region, operator)
        try:
            return await service.register(command)
        except DuplicateNib:
            raise Conflict(f"an UMKM with NIB {command.nib} is already registered", field="nib") from None

    @router.get("/msmes", response_model=MsmePage, tags=["UMKM"])
    async def list_msmes(
        operator: Operator,
        region: str = Query(pattern=REGION_PATTERN),
        tier: Tier | None = None,
        sector: domain.Sector | None = None,
        kecamatan: str | None = Query(default=None, max_length=80),
        page: int = Query(default=1, ge=1),
        page_size: int = Query(default=50, ge=1, le=200),
    ) -> MsmePage:
        check_served(region, operator)
        items, total = await store.page(
            region, tier=tier, sector=sector, kecamatan=kecamatan, skip=(page - 1) * page_size, limit=page_size
        )
        return MsmePage(items=items, total=total, page=page, page_size=page_size)

    @router.get("/msmes/{msme_id}", response_model=domain.Msme, tags=["UMKM"])
    async def get_msme(operator: Operator, msme_id: str) -> domain.Msme:
        return in_region(await store.get(msme_id), operator, msme_id)

    @router.patch("/msmes/{msme_id}", response_model=domain.Msme, tags=["UMKM"])
    async def update_msme(operator: Operator, msme_id: str, command: domain.UpdateMsme) -> domain.Msme:
        async with refusals():
            return await apply(operator, msme_id, domain.update_profile, command)

    @router.post(
        "/msmes/{msme_id}/nib-verification",
        response_model=domain.Msme,
        tags=["UMKM"],
        summary="An operator confirms the NIB against the OSS system",
    )
    async def verify_nib(operator: Operator, msme_id: str) -> domain.Msme:
        async with refusals():
            return await apply(operator, msme_id, domain.verify_nib)

    @router.post(
        "/msmes/{msme_id}/listings",
        status_code=201,
        response_model=domain.Msme,
        tags=["UMKM"],
        summary='A "go to marketplace" listing',
    )
    async def add_listing(operator: Operator, msme_id: str, command: domain.AddListing) -> domain.Msme:
        async with refusals():
            return await apply(operator, msme_id, domain.add_listing, command)

    @router.get(
        "/msmes/{msme_id}/assessments",
        response_model=list[domain.Assessment],
        tags=["readiness"],
        summary="Assessment history, newest first",
    )
    async def assessment_history(operator: Operator, msme_id: str) -> list[domain.Assessment]:
        in_region(await store.get(msme_id), operator, msme_id)
        return await store.history(msme_id) or []

    @router.post("/msmes/{msme_id}/products", status_code=201, response_model=ProductView, tags=["products"])
    async def list_product(operator: Operator, msme_id: str, command: domain.ListProduct) -> ProductView:
        product_id = f"prd-{uuid4().hex[:12]}"
        async with refusals():
            msme = await apply(operator, msme_id, domain.list_product, command, product_id)
        return ProductView(msme_id=msme_id, product=msme.product(product_id))

    @router.get("/products/{product_id}", response_model=ProductView, tags=["products"])
    async def get_product(operator: Operator, product_id: str) -> ProductView:
        owner = await store.owner_of_product(product_id)
        msme = await store.get(owner) if owner else None
        if msme is None or msme.region != operator:
            raise NotFound(f"no product {product_id}")
        return ProductView(msme_id=msme.msme_id, product=msme.product(product_id))

    @router.patch("/msmes/{msme_id}/products/{product_id}", response_model=ProductView, tags=["products"])
    async def update_product(
        operator: Operator, msme_id: str, product_id: str, command: domain.UpdateProduct
    ) -> ProductView:
        async with refusals():
            msme = await apply(operator, msme_id, domain.update_product, product_id, command)
        return ProductView(msme_id=msme_id, product=msme.product(product_id))

    @router.post(
        "/msmes/{msme_id}/products/{product_id}/certificates",
        status_code=201,
        response_model=ProductView,
        tags=["products"],
        summary="Add or renew a certificate",
    )
    async def add_certificate(
        operator: Operator, msme_id: str, product_id: str, command: domain.AddCertificate
    ) -> ProductView:
        async with refusals():
            msme = await apply(operator, msme_id, domain.add_certificate, product_id, command)
        return ProductView(msme_id=msme_id, product=msme.product(product_id))

    @router.delete(
        "/msmes/{msme_id}/products/{product_id}/certificates/{kind}", response_model=ProductView, tags=["products"]
    )
    async def remove_certificate(
        operator: Operator, msme_id: str, product_id: str, kind: CertificateKind
    ) -> ProductView:
        async with refusals():
            msme = await apply(operator, msme_id, domain.remove_certificate, product_id, kind)
        return ProductView(msme_id=msme_id, product=msme.product(product_id))

    @router.delete(
        "/msmes/{msme_id}/products/{product_id}",
        response_model=domain.Msme,
        tags=["products"],
        summary="Delist a product; its export readiness, if any, is withdrawn",
    )
    async def delist_product(operator: Operator, msme_id: str, product_id: str, body: domain.Withdrawal) -> domain.Msme:
        async with refusals():
            return await apply(operator, msme_id, domain.delist_product, product_id, body.reason)

    @router.delete(
        "/msmes/{msme_id}",
        response_model=domain.Msme,
        tags=["UMKM"],
        summary="Withdraw an UMKM: kept for history, its products leave export, no more changes",
    )
    async def withdraw_msme(operator: Operator, msme_id: str, body: domain.Withdrawal) -> domain.Msme:
        async with refusals():
            return await apply(operator, msme_id, domain.withdraw, body.reason)

    @router.post("/cohorts", status_code=201, response_model=domain.Cohort, tags=["incubation"])
    async def create_cohort(operator: Operator, command: NewCohort) -> domain.Cohort:
        check_served(command.region, operator)
        if command.ends_on and command.ends_on <= command.starts_on:
            raise Unprocessable("ends_on must be after starts_on", field="ends_on")
        cohort = domain.Cohort(
            cohort_id=f"coh-{uuid4().hex[:10]}", created_at=service.clock.now(), **command.model_dump()
        )
        await store.add_cohort(cohort)
        return cohort

    @router.get("/cohorts", response_model=list[domain.Cohort], tags=["incubation"])
    async def list_cohorts(operator: Operator, region: str = Query(pattern=REGION_PATTERN)) -> list[domain.Cohort]:
        check_served(region, operator)
        return await store.cohorts_of(region)

    @router.get("/cohorts/{cohort_id}", response_model=CohortView, tags=["incubation"])
    async def get_cohort(operator: Operator, cohort_id: str) -> CohortView:
        if (cohort := await store.cohort(cohort_id)) is None or cohort.region != operator:
            raise NotFound(f"no cohort {cohort_id}")
        members = [
            MemberProgress(
                msme_id=m.msme_id,
                business_name=m.profile.business_name,
                tier=m.tier,
                score=m.assessment.score if m.assessment else None,
                milestones_done=sum(1 for s in m.incubation.milestones if s.completed_at),
                milestones_total=len(m.incubation.milestones),
                graduated=m.incubation.graduated_at is not None,
            )
            for m in await store.members(cohort_id)
            if m.incubation
        ]
        return CohortView(cohort=cohort, members=members)

    @router.post(
        "/cohorts/{cohort_id}/enrollments",
        status_code=201,
        response_model=domain.Msme,
        tags=["incubation"],
        summary="Enrol a setengah or didorong UMKM; milestones come from its gaps",
    )
    async def enrol(operator: Operator, cohort_id: str, command: Enrolment) -> domain.Msme:
        in_region(await store.get(command.msme_id), operator, command.msme_id)
        async with refusals():
            return await service.enrol(cohort_id, command.msme_id)

    @router.post(
        "/msmes/{msme_id}/incubation/milestones/{code}/completion",
        response_model=domain.Msme,
        tags=["incubation"],
        summary="An operator records a milestone as done; the UMKM is reassessed",
    )
    async def complete_milestone(
        operator: Operator, msme_id: str, code: str = Path(pattern=r"^[a-z_]{2,60}$")
    ) -> domain.Msme:
        async with refusals():
            return await apply(operator, msme_id, domain.complete_milestone, code)

    return router
