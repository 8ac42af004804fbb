"""Incubation: cohorts, enrolment, milestones."""

from uuid import uuid4

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from ekspora_contracts.envelope import REGION_PATTERN
from ekspora_contracts.registry import Tier
from ekspora_kit.auth import Operator
from ekspora_kit.domain import Model, NotFound
from ekspora_kit.http import Unprocessable
from ekspora_kit.inputs import Day, Line
from ekspora_registry import domain
from ekspora_registry.api.deps import Registry

router = APIRouter(tags=["incubation"])


class NewCohort(Model):
    region: str = Field(pattern=REGION_PATTERN)
    name: Line = Field(min_length=3, max_length=120, examples=["UMKM Kita Bisa Kota Kediri 2026/1"])
    starts_on: Day
    ends_on: Day | None = None


class NewEnrolment(Model):
    msme_id: str


class MemberProgress(BaseModel):
    msme_id: str
    business_name: str
    tier: Tier | None
    score: int | None
    milestones_done: int
    milestones_total: int
    graduated: bool

    @classmethod
    def of(cls, member: domain.Msme, enrolment: domain.Enrolment) -> "MemberProgress":
        return cls(
            msme_id=member.msme_id,
            business_name=member.profile.business_name,
            tier=member.tier,
            score=member.assessment.score if member.assessment else None,
            milestones_done=sum(1 for step in enrolment.milestones if step.completed_at),
            milestones_total=len(enrolment.milestones),
            graduated=enrolment.graduated_at is not None,
        )


class CohortView(BaseModel):
    cohort: domain.Cohort
    members: list[MemberProgress]


@router.post("/cohorts", status_code=201, response_model=domain.Cohort)
async def create_cohort(operator: Operator, registry: Registry, command: NewCohort) -> domain.Cohort:
    registry.check_served(command.region, operator)
    if command.ends_on and command.ends_on <= command.starts_on:
        raise Unprocessable("ends_on must be after starts_on", field="ends_on")
    now = registry.service.clock.now()
    cohort = domain.Cohort(cohort_id=f"coh-{uuid4().hex[:10]}", created_at=now, **command.model_dump())
    await registry.store.add_cohort(cohort)
    return cohort


@router.get("/cohorts", response_model=list[domain.Cohort])
async def list_cohorts(
    operator: Operator, registry: Registry, region: str = Query(pattern=REGION_PATTERN)
) -> list[domain.Cohort]:
    registry.check_served(region, operator)
    return await registry.store.cohorts_of(region)


@router.get("/cohorts/{cohort_id}", response_model=CohortView)
async def get_cohort(operator: Operator, registry: Registry, cohort_id: str) -> CohortView:
    if (cohort := await registry.store.cohort(cohort_id)) is None or not operator.covers(cohort.region):
        raise NotFound(f"no cohort {cohort_id}")
    members = [MemberProgress.of(m, m.incubation) for m in await registry.store.members(cohort_id) if m.incubation]
    return CohortView(cohort=cohort, members=members)


@router.post(
    "/cohorts/{cohort_id}/enrollments",
    status_code=201,
    response_model=domain.Msme,
    summary="Enrol a setengah or didorong UMKM; milestones come from its gaps",
)
async def enrol(operator: Operator, registry: Registry, cohort_id: str, command: NewEnrolment) -> domain.Msme:
    await registry.visible(operator, command.msme_id)
    return await registry.service.enrol(cohort_id, command.msme_id)


@router.post(
    "/msmes/{msme_id}/incubation/milestones/{code}/completion",
    response_model=domain.Msme,
    summary="An operator records a milestone as done; the UMKM is reassessed",
)
async def complete_milestone(
    operator: Operator, registry: Registry, msme_id: str, code: str = Path(pattern=r"^[a-z_]{2,60}$")
) -> domain.Msme:
    return await registry.apply(operator, msme_id, domain.complete_milestone, code)
