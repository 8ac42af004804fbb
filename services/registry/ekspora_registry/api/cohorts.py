"""Incubation: cohorts, their mentors and sessions, enrolment, milestones with their evidence."""

from datetime import date, datetime
from uuid import uuid4

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, Field

from ekspora_contracts.envelope import REGION_PATTERN
from ekspora_contracts.registry import Amount, IncubationSession, Road, Tier, UnlockedDemand
from ekspora_kit.auth import Coach, Forbidden, Operator
from ekspora_kit.domain import Model, NotFound
from ekspora_kit.files import read_upload, served
from ekspora_kit.http import Unprocessable
from ekspora_kit.inputs import Day, Line, Moment, Prose
from ekspora_kit.tokens import PERSON_ID_PATTERN, Access
from ekspora_registry import domain
from ekspora_registry.api.deps import Operations, Registry

router = APIRouter(tags=["incubation"])


class NewCohort(Model):
    region: str = Field(pattern=REGION_PATTERN)
    name: Line = Field(min_length=3, max_length=120, examples=["UMKM Kita Bisa Kota Kediri 2026/1"])
    starts_on: Day
    ends_on: Day | None = None


class NewEnrolment(Model):
    msme_id: str


class NewSession(Model):
    title: Line = Field(min_length=3, max_length=200, examples=["Klinik halal: jalur self-declare"])
    starts_at: Moment
    place: Line = Field(min_length=2, max_length=200, examples=["Aula Dinas Koperasi dan UMKM Kota Kediri"])
    mentor: Line = Field(min_length=2, max_length=200, examples=["Siti Rahmah, Bank Indonesia Kediri"])


class SessionScheduled(BaseModel):
    session: IncubationSession
    invited: list[str] = Field(description="The members told of it")


class Attendance(Model):
    present: list[str] = Field(max_length=500, description="The members who came; the other invited did not")


class MilestoneDone(Model):
    note: Prose = Field(
        min_length=3,
        max_length=1000,
        description="What you saw done (attach its document or photo with PUT …/evidence instead)",
        examples=["SPP-IRT P-IRT 2063571010123-28 issued, copy seen"],
    )


class MemberProgress(BaseModel):
    msme_id: str
    business_name: str
    tier: Tier | None
    score: int | None
    road: Road | None
    milestones_done: int
    milestones_total: int
    overdue: list[str] = Field(description="Milestones past their due date and not done")
    next_due_on: date | None
    sessions_attended: int
    sessions_held: int = Field(description="Sessions it was invited to that have begun")
    next_session_at: datetime | None
    graduated: bool
    unlocked: list[UnlockedDemand] = Field(description="Open demand closing each of its next steps would open")
    unlocked_value_idr: int

    @classmethod
    def of(cls, member: domain.Msme, enrolment: domain.Enrolment, now: datetime) -> "MemberProgress":
        advice = member.assessment.road if member.assessment else None
        unlocked = advice.unlocked if advice else []
        today = domain.local_today(now, member.profile.timezone)
        open_dues = [step.due_on for step in enrolment.milestones if step.completed_at is None and step.due_on]
        return cls(
            msme_id=member.msme_id,
            business_name=member.profile.business_name,
            tier=member.tier,
            score=member.assessment.score if member.assessment else None,
            road=advice.road if advice else None,
            milestones_done=sum(1 for step in enrolment.milestones if step.completed_at),
            milestones_total=len(enrolment.milestones),
            overdue=[step.code for step in enrolment.milestones if step.overdue(today)],
            next_due_on=min(open_dues, default=None),
            sessions_attended=sum(1 for held in enrolment.sessions if held.attended),
            sessions_held=sum(1 for held in enrolment.sessions if held.starts_at <= now),
            next_session_at=min((held.starts_at for held in enrolment.sessions if held.starts_at > now), default=None),
            graduated=enrolment.graduated_at is not None,
            unlocked=unlocked,
            unlocked_value_idr=sum(u.value_idr for u in unlocked),
        )


class Opportunity(BaseModel):
    """One gap of one product, and the open demand closing it would open."""

    msme_id: str
    business_name: str
    tier: Tier | None
    cohort_id: str | None
    product_id: str
    product_name: str
    gap_code: str
    next_step_id: str
    next_step_en: str
    requests: int
    demand_ids: list[str]
    units: int
    value: list[Amount]
    value_idr: int


class CohortSession(BaseModel):
    session: IncubationSession
    invited: list[str]
    attended: list[str] | None = Field(description="Who came, once attendance is taken")
    begun: bool

    @classmethod
    def all_of(cls, members: list[domain.Msme], now: datetime) -> list["CohortSession"]:
        """The cohort's sessions, from its members' invitations (a session lives with who is invited)."""
        held: dict[str, tuple[IncubationSession, list[domain.Msme]]] = {}
        for member in members:
            for plan in member.incubation.sessions if member.incubation else []:
                session = IncubationSession.model_validate(plan.model_dump(include=set(IncubationSession.model_fields)))
                held.setdefault(plan.session_id, (session, []))[1].append(member)

        def came(member: domain.Msme, session_id: str) -> bool | None:
            assert member.incubation is not None
            return next(plan.attended for plan in member.incubation.sessions if plan.session_id == session_id)

        return [
            cls(
                session=session,
                invited=[m.msme_id for m in invited],
                attended=None
                if all(came(m, session.session_id) is None for m in invited)
                else [m.msme_id for m in invited if came(m, session.session_id)],
                begun=session.starts_at <= now,
            )
            for session, invited in sorted(held.values(), key=lambda found: found[0].starts_at)
        ]


class CohortView(BaseModel):
    cohort: domain.Cohort
    members: list[MemberProgress]
    sessions: list[CohortSession]


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
    cohort = await cohort_of(registry, operator, cohort_id)
    now = registry.service.clock.now()
    enrolled = [m for m in await registry.store.members(cohort_id) if m.incubation]
    members = [MemberProgress.of(m, m.incubation, now) for m in enrolled if m.incubation]
    members.sort(key=lambda member: -member.unlocked_value_idr)  # who a closed gap would earn the most first
    return CohortView(cohort=cohort, members=members, sessions=CohortSession.all_of(enrolled, now))


@router.get(
    "/opportunities",
    response_model=list[Opportunity],
    summary="Gaps of the region's products by the open demand closing them would open, largest first",
    description="For selecting a cohort by demand: `gap_code` narrows it to one gap (certificate.halal, say).",
)
async def opportunities(
    operator: Operator,
    registry: Registry,
    region: str = Query(pattern=REGION_PATTERN),
    gap_code: str | None = Query(default=None, pattern=r"^[a-z_]+\.[a-z_|]+$"),
) -> list[Opportunity]:
    registry.check_served(region, operator)
    found = []
    for msme in await registry.store.unlocking(region, gap_code):
        for product in msme.products:
            for opening in product.unlocked:
                if gap_code and opening.gap_code != gap_code:
                    continue
                text = registry.rubric.gaps.get(opening.gap_code)
                found.append(
                    Opportunity(
                        msme_id=msme.msme_id,
                        business_name=msme.profile.business_name,
                        tier=msme.tier,
                        cohort_id=msme.incubation.cohort_id if msme.incubation else None,
                        product_id=product.product_id,
                        product_name=product.name,
                        next_step_id=text.next_step_id if text else opening.gap_code,
                        next_step_en=text.next_step_en if text else opening.gap_code,
                        **opening.model_dump(),
                    )
                )
    return sorted(found, key=lambda row: (-row.value_idr, row.msme_id, row.gap_code))


async def cohort_of(registry: Operations, operator: Access, cohort_id: str) -> domain.Cohort:
    if (cohort := await registry.store.cohort(cohort_id)) is None or not operator.covers(cohort.region):
        raise NotFound(f"no cohort {cohort_id}")
    return cohort


async def coached(registry: Operations, coach: Access, cohort_id: str) -> domain.Cohort:
    """The cohort, if the caller coaches it: an operator of its region, or one of its mentors."""
    cohort = await cohort_of(registry, coach, cohort_id)
    if coach.role == "mentor" and not any(mentor.person_id == coach.person_id for mentor in cohort.mentors):
        raise Forbidden(f"you do not mentor the cohort {cohort.name}")
    return cohort


async def coached_member(registry: Operations, coach: Access, msme_id: str) -> domain.Msme:
    msme = await registry.visible(coach, msme_id)
    if msme.incubation is not None:
        await coached(registry, coach, msme.incubation.cohort_id)
    elif coach.role == "mentor":
        raise Forbidden(f"{msme.profile.business_name} is in none of your cohorts")
    return msme


class NewMentor(Model):
    name: Line = Field(min_length=2, max_length=120, examples=["Siti Rahmah"])
    organisation: Line = Field(min_length=2, max_length=120, examples=["Bank Indonesia Kediri"])
    email: str = Field(pattern=domain.EMAIL_PATTERN, max_length=254, examples=["siti.rahmah@bi.go.id"])
    person_id: str = Field(
        pattern=PERSON_ID_PATTERN,
        description="Their account (identity's POST /people, role mentor, the cohort's region): they sign in with it",
    )


@router.post(
    "/cohorts/{cohort_id}/mentors",
    status_code=201,
    response_model=domain.Cohort,
    summary="Add a mentor to a cohort (once per email): they take its attendance and record its milestones",
)
async def add_mentor(operator: Operator, registry: Registry, cohort_id: str, body: NewMentor) -> domain.Cohort:
    await cohort_of(registry, operator, cohort_id)
    await registry.store.add_mentor(cohort_id, domain.Mentor(**body.model_dump()))
    return await cohort_of(registry, operator, cohort_id)


@router.post(
    "/cohorts/{cohort_id}/sessions",
    status_code=201,
    response_model=SessionScheduled,
    summary="Schedule a coaching session: every member in incubation is told, and reminded before it",
)
async def schedule_session(
    operator: Operator, registry: Registry, cohort_id: str, body: NewSession
) -> SessionScheduled:
    cohort = await cohort_of(registry, operator, cohort_id)
    if cohort.mentors and not any(m.name in body.mentor for m in cohort.mentors):
        names = ", ".join(m.name for m in cohort.mentors)
        raise Unprocessable(f"the cohort's mentors are {names}", field="mentor")
    if body.starts_at <= registry.service.clock.now():
        raise Unprocessable("a session is scheduled ahead of time", field="starts_at")
    if cohort.ends_on and body.starts_at.date() > cohort.ends_on:
        raise Unprocessable(f"the cohort ends on {cohort.ends_on}", field="starts_at")
    session = IncubationSession(session_id=f"ses-{uuid4().hex[:10]}", **body.model_dump())
    invited = []
    for member in await registry.store.members(cohort_id):
        if member.incubation and not member.incubation.graduated_at:
            await registry.apply(operator, member.msme_id, domain.schedule_session, cohort_id, session)
            invited.append(member.msme_id)
    return SessionScheduled(session=session, invited=invited)


@router.put(
    "/cohorts/{cohort_id}/sessions/{session_id}/attendance",
    response_model=list[MemberProgress],
    summary="Who came to a session: the members listed did, the other invited did not",
)
async def take_attendance(
    coach: Coach, registry: Registry, cohort_id: str, session_id: str, body: Attendance
) -> list[MemberProgress]:
    await coached(registry, coach, cohort_id)
    invited = [
        m
        for m in await registry.store.members(cohort_id)
        if m.incubation and any(s.session_id == session_id for s in m.incubation.sessions)
    ]
    if not invited:
        raise NotFound(f"no session {session_id} in cohort {cohort_id}")
    if strangers := set(body.present) - {m.msme_id for m in invited}:
        raise Unprocessable(f"not invited to this session: {', '.join(sorted(strangers))}", field="present")
    now, progress = registry.service.clock.now(), []
    for member in invited:
        came = member.msme_id in body.present
        updated = await registry.apply(coach, member.msme_id, domain.record_attendance, cohort_id, session_id, came)
        assert updated.incubation is not None
        progress.append(MemberProgress.of(updated, updated.incubation, now))
    return progress


@router.post(
    "/cohorts/{cohort_id}/enrollments",
    status_code=201,
    response_model=domain.Msme,
    summary="Enrol a setengah or didorong UMKM; milestones come from its gaps",
)
async def enrol(operator: Operator, registry: Registry, cohort_id: str, command: NewEnrolment) -> domain.Msme:
    await registry.visible(operator, command.msme_id)
    return await registry.service.enrol(cohort_id, command.msme_id)


MILESTONE = "/msmes/{msme_id}/incubation/milestones/{code}"
MilestoneCode = Path(pattern=r"^[a-z_]{2,60}$")


@router.post(
    f"{MILESTONE}/completion",
    response_model=domain.Msme,
    summary="A coach (an operator, or a mentor of its cohort) records a milestone done; the UMKM is reassessed",
)
async def complete_milestone(
    coach: Coach, registry: Registry, msme_id: str, body: MilestoneDone, code: str = MilestoneCode
) -> domain.Msme:
    await coached_member(registry, coach, msme_id)
    seen = domain.Witnessed(recorded_by=coach.actor, note=body.note)
    return await registry.apply(coach, msme_id, domain.complete_milestone, code, seen)


@router.put(
    f"{MILESTONE}/evidence",
    response_model=domain.Msme,
    summary="Record a milestone done with its evidence: the body is the PDF, JPEG or PNG, its type in Content-Type",
    description="A certificate, a photo of the new label, a buyer's letter: kept with the milestone, and"
    " downloadable from the same address. Sending the same file and note again changes nothing.",
    responses={413: {"description": "Larger than the limit"}, 415: {"description": "Not a PDF, JPEG or PNG"}},
)
async def complete_milestone_with_evidence(
    coach: Coach,
    registry: Registry,
    msme_id: str,
    request: Request,
    code: str = MilestoneCode,
    note: str = Query(min_length=3, max_length=500, description="What it shows"),
    filename: str = Query(default="evidence", min_length=1, max_length=200, pattern=r"^[\w .()-]+$"),
) -> domain.Msme:
    await coached_member(registry, coach, msme_id)  # refused before the upload is read
    upload = await read_upload(request, filename=filename, max_bytes=registry.evidence_max_bytes)
    await registry.evidence.keep(upload)
    evidence = upload.stored(coach.actor, registry.service.clock.now())
    seen = domain.Witnessed(recorded_by=coach.actor, note=note, evidence=evidence)
    return await registry.apply(coach, msme_id, domain.complete_milestone, code, seen)


@router.get(
    f"{MILESTONE}/evidence",
    response_class=Response,
    summary="The evidence a milestone was recorded with",
    responses={200: {"content": {"application/pdf": {}, "image/jpeg": {}, "image/png": {}}}},
)
async def milestone_evidence(
    operator: Operator, registry: Registry, msme_id: str, code: str = MilestoneCode
) -> Response:
    msme = await registry.visible(operator, msme_id)
    steps = msme.incubation.milestones if msme.incubation else []
    evidence = next((step.evidence for step in steps if step.code == code), None)
    return await served(registry.evidence, evidence, f"no evidence for milestone {code} of {msme_id}")
