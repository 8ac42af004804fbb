"""What matching's routes depend on: who calls, and the use cases and reads, through Depends."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from ekspora_kit.auth import Forbidden, OperatorOrPartner
from ekspora_kit.domain import NotFound
from ekspora_kit.tokens import Access
from ekspora_matching import domain
from ekspora_matching.policy import RulesHolder
from ekspora_matching.service import MatchingService
from ekspora_matching.store import MatchingStore


@dataclass(frozen=True)
class Caller:
    access: Access | None = None  # a person of the regions, or a machine
    partner: domain.Partner | None = None

    def operator(self) -> Access:
        if self.access is None:
            raise Forbidden("operators only")
        return self.access

    def covers(self, region: str) -> bool:
        return self.access is not None and self.access.covers(region)

    def the_partner(self) -> domain.Partner:
        if self.partner is None:
            raise Forbidden("partners only")
        return self.partner


async def caller(found: OperatorOrPartner) -> Caller:
    access, partner = found
    return Caller(access=access, partner=partner)


@dataclass(frozen=True)
class Operations:
    service: MatchingService
    store: MatchingStore
    rules: RulesHolder

    async def visible_match(self, match_id: str, who: Caller) -> domain.Pair:
        """A partner sees its own matches, an operator its region's; any other is as if none existed."""
        pair = await self.store.pair_of_match(match_id)
        if pair is None or not ((who.partner and pair.partner_id == who.partner.partner_id) or who.covers(pair.region)):
            raise NotFound(f"no match {match_id}")
        return pair


def operations(request: Request) -> Operations:
    return request.app.state.operations


Authenticated = Annotated[Caller, Depends(caller)]
Matching = Annotated[Operations, Depends(operations)]
