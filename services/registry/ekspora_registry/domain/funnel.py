"""What each of the registry's own events adds to a region's funnel counts (kept by a tally, see
ekspora_kit.tallies): the counts follow from the stream alone, without reading any UMKM."""

from collections.abc import Callable, Mapping
from typing import Any

from ekspora_contracts.envelope import EventData
from ekspora_contracts.registry import (
    IncubationEnrolled,
    IncubationGraduated,
    MsmeRegistered,
    MsmeRegisteredV1,
    ReadinessAssessedV1,
)

UNASSESSED = "unassessed"


def registered(_: MsmeRegistered | MsmeRegisteredV1) -> Mapping[str, int]:
    return {"registered": 1, UNASSESSED: 1}


def assessed(event: ReadinessAssessedV1) -> Mapping[str, int]:
    """An UMKM leaves its previous tier (or the unassessed) for its new one."""
    if event.tier == event.previous_tier:
        return {}
    return {event.previous_tier or UNASSESSED: -1, event.tier: 1}


def enrolled(_: IncubationEnrolled) -> Mapping[str, int]:
    return {"in_incubation": 1}


def graduated(_: IncubationGraduated) -> Mapping[str, int]:
    """Graduations: an UMKM enrolled again after graduating, and graduating again, counts twice."""
    return {"in_incubation": -1, "graduated": 1}


STEPS: dict[type[EventData], Callable[[Any], Mapping[str, int]]] = {
    MsmeRegisteredV1: registered,
    MsmeRegistered: registered,
    ReadinessAssessedV1: assessed,  # published for every assessment, then and now; v2 beside it adds the road
    IncubationEnrolled: enrolled,
    IncubationGraduated: graduated,
}
