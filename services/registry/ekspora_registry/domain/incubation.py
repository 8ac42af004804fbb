"""Incubation: enrolment into a cohort, and milestones done by an operator."""

from datetime import datetime, timedelta

from ekspora_contracts.registry import (
    IncubationEnrolled,
)
from ekspora_kit.domain import NotAllowed, NotFound
from ekspora_registry.domain.model import Change, Cohort, Enrolment, MilestoneProgress, Msme, touched
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


def complete_milestone(msme: Msme, code: str, note: str | None, now: datetime, rubric: Rubric) -> Change:
    enrolment = msme.incubation
    if enrolment is None or enrolment.graduated_at:
        raise NotAllowed("the UMKM is not in an incubation cohort")
    milestone = next((m for m in enrolment.milestones if m.code == code), None)
    if milestone is None:
        raise NotFound(f"cohort milestones are {[m.code for m in enrolment.milestones]}, not {code}")
    if milestone.completed_at:
        raise NotAllowed(f"milestone {code} was completed on {milestone.completed_at:%Y-%m-%d}")
    change = mark_milestone_done(Change(msme), milestone.code, "operator", now, note)
    return reassess(change, f"milestone_completed:{code}", now, rubric)
