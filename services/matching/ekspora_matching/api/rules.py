"""Destination import rules: read by operators and partners, reloaded from the data file by operators."""

from typing import Literal

from fastapi import APIRouter

from ekspora_matching.api.deps import Authenticated, Matching
from ekspora_matching.policy import Verdict

router = APIRouter(tags=["rules"])


@router.get("/rules/{country}/{category}", response_model=Verdict)
async def rule(country: Literal["NL", "AU"], category: str, _signed_in: Authenticated, matching: Matching) -> Verdict:
    return matching.rules.get().verdict(country, category)


@router.post("/rules/reload", summary="Reload destination rules from the data file")
async def reload_rules(who: Authenticated, matching: Matching) -> dict[str, int]:
    who.operator()
    reloaded = matching.rules.reload()
    return {country: len(c.rules) for country, c in reloaded.countries.items()}
