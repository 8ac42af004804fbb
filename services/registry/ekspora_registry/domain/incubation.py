"""Incubation: enrolment into a cohort, and milestones done by an operator."""

from datetime import datetime, timedelta

from ekspora_contracts.registry import (
    IncubationEnrolled,
    IncubationSession,
    IncubationSessionComing,
    IncubationSessionScheduled,
)
from ekspora_kit.domain import NotAllowed, NotFound
from ekspora_registry.domain.model import (
    Change,
    Cohort,
    Enrolment,
    MilestoneProgress,
    Msme,
    SessionPlan,
    Witnessed,
    touched,
)
from ekspora_registry.domain.readiness import local_today, mark_milestone_done, reassess
from ekspora_registry.policy import Rubric


def enrol(msme: Msme, cohort: Cohort, now: datetime, rubric: Rubric) -> Change:
    if msme.region != cohort.region:
        raise NotAllowed(f"cohort {cohort.cohort_id} is for {cohort.region}, the UMKM is in {msme.region}")
    if msme.incubation and not msme.incubation.graduated_at:
        raise NotAllowed(f"already enrolled in cohort {msme.incubation.cohort_id}")
    if msme.assessment is None or msme.assessment.tier == "siap":
        raise NotAllowed("only setengah and didorong UMKM can be enrolled; this one is siap")
    milestones, seen = [], set()
    begins = max(cohort.starts_on, local_today(now, msme.profile.timezone))  # who joins late gets the full time
    for gap in msme.assessment.gaps:
        spec = rubric.milestone_for(gap.code)
        if spec.code not in seen:
            seen.add(spec.code)
            due = begins + timedelta(weeks=spec.weeks)
            due_on = min(due, cohort.ends_on) if cohort.ends_on else due
            milestones.append(MilestoneProgress(gap_code=gap.code, due_on=due_on, **spec.model_dump(exclude={"weeks"})))
    enrolment = Enrolment(
        cohort_id=cohort.cohort_id,
        cohort_name=cohort.name,
        enrolled_at=now,
        tier_at_enrolment=msme.assessment.tier,
        milestones=milestones,
    )
    updated = touched(msme.model_copy(update={"incubation": enrolment}), now)
    event = IncubationEnrolled(
        msme_id=msme.msme_id,
        region=msme.region,
        cohort_id=cohort.cohort_id,
        cohort_name=cohort.name,
        tier_at_enrolment=enrolment.tier_at_enrolment,
        milestones=[m.as_milestone() for m in milestones],
    )
    return Change(updated, [event])


def complete_milestone(msme: Msme, code: str, seen: Witnessed, now: datetime, rubric: Rubric) -> Change | None:
    """A coach records a milestone done, with what they saw (a note, its document or photo)."""
    enrolment = msme.incubation
    if enrolment is None or enrolment.graduated_at:
        raise NotAllowed("the UMKM is not in an incubation cohort")
    milestone = next((m for m in enrolment.milestones if m.code == code), None)
    if milestone is None:
        raise NotFound(f"cohort milestones are {[m.code for m in enrolment.milestones]}, not {code}")
    if milestone.completed_at:
        if _same_seen(milestone, seen):
            return None  # the same request again
        raise NotAllowed(f"milestone {code} was completed on {milestone.completed_at:%Y-%m-%d}")
    change = mark_milestone_done(Change(msme), milestone.code, "operator", now, seen)
    return reassess(change, f"milestone_completed:{code}", now, rubric)


def _same_seen(milestone: MilestoneProgress, seen: Witnessed) -> bool:
    kept = milestone.evidence.sha256 if milestone.evidence else None
    given = seen.evidence.sha256 if seen.evidence else None
    return (milestone.recorded_by, milestone.note, kept) == (seen.recorded_by, seen.note, given)


def _enrolled_in(msme: Msme, cohort_id: str) -> Enrolment:
    enrolment = msme.incubation
    if enrolment is None or enrolment.cohort_id != cohort_id or enrolment.graduated_at:
        raise NotAllowed(f"UMKM {msme.msme_id} is not a member of cohort {cohort_id} in incubation")
    return enrolment


def schedule_session(
    msme: Msme, cohort_id: str, session: IncubationSession, now: datetime, rubric: Rubric
) -> Change | None:
    """The member is invited (and told); a session already held by the member changes nothing. One
    within the reminder's reach is reminded of by the invitation itself."""
    enrolment = _enrolled_in(msme, cohort_id)
    if any(held.session_id == session.session_id for held in enrolment.sessions):
        return None
    near = session.starts_at - timedelta(hours=rubric.sessions.remind_hours_before) <= now
    plan = SessionPlan(**session.model_dump(), reminded=near)
    sessions = sorted([*enrolment.sessions, plan], key=lambda held: held.starts_at)
    updated = touched(msme.model_copy(update={"incubation": enrolment.model_copy(update={"sessions": sessions})}), now)
    event = IncubationSessionScheduled(msme_id=msme.msme_id, region=msme.region, cohort_id=cohort_id, session=session)
    return reassess(Change(updated, [event]), f"session_scheduled:{session.session_id}", now, rubric)


def record_attendance(
    msme: Msme, cohort_id: str, session_id: str, attended: bool, now: datetime, rubric: Rubric
) -> Change | None:
    enrolment = _enrolled_in(msme, cohort_id)
    held = next((s for s in enrolment.sessions if s.session_id == session_id), None)
    if held is None:
        raise NotFound(f"UMKM {msme.msme_id} was not invited to session {session_id}")
    if held.starts_at > now:
        raise NotAllowed(f"session {session_id} has not begun; attendance is taken once it has", field="present")
    if held.attended == attended:
        return None
    sessions = [
        s.model_copy(update={"attended": attended}) if s.session_id == session_id else s for s in enrolment.sessions
    ]
    updated = touched(msme.model_copy(update={"incubation": enrolment.model_copy(update={"sessions": sessions})}), now)
    return Change(updated)


def session_reminders(msme: Msme, now: datetime, rubric: Rubric) -> tuple[Msme, list[IncubationSessionComing]]:
    """Reminders of the sessions now within reach, each once; a session already begun gets none."""
    enrolment = msme.incubation
    if enrolment is None or enrolment.graduated_at:
        return msme, []
    reach = timedelta(hours=rubric.sessions.remind_hours_before)
    due = [s for s in enrolment.sessions if not s.reminded and s.starts_at - reach <= now < s.starts_at]
    if not due:
        return msme, []
    sessions = [s.model_copy(update={"reminded": True}) if s in due else s for s in enrolment.sessions]
    events = [
        IncubationSessionComing(
            msme_id=msme.msme_id,
            region=msme.region,
            cohort_id=enrolment.cohort_id,
            session=IncubationSession(**s.model_dump(exclude={"reminded", "attended"})),
        )
        for s in due
    ]
    return msme.model_copy(update={"incubation": enrolment.model_copy(update={"sessions": sessions})}), events
