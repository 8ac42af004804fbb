"""HTTP API. Operators (bearer token per region) manage partners and see their region; partners
(bearer API key, shown once) post demand and act on their own proposals only."""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Literal
from uuid import uuid4

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field, model_validator

from ekspora_contracts.matching import MatchTerms, PartnerKind, ScorePart, Side
from ekspora_kit.auth import Forbidden, operator_or_partner, parse_operator_tokens
from ekspora_kit.http import NotFound, Unprocessable, refusals
from ekspora_matching import domain
from ekspora_matching.rules import DestinationRules, Verdict, load_rules
from ekspora_matching.service import MatchingService
from ekspora_matching.settings import MatchingSettings
from ekspora_matching.store import MatchingStore


class RulesHolder:
    """The destination rules in force; reloadable from the data file without a restart."""

    def __init__(self) -> None:
        self.rules = load_rules()

    def get(self) -> DestinationRules:
        return self.rules

    def reload(self) -> DestinationRules:
        self.rules = load_rules()
        return self.rules


@dataclass(frozen=True)
class Caller:
    operator_region: str | None = None
    partner: domain.Partner | None = None


class NewPartner(domain.Model):
    kind: PartnerKind
    name: str = Field(min_length=2, max_length=120)
    country: Literal["NL", "AU"]
    city: str = Field(min_length=2, max_length=80)
    categories: list[str] = Field(min_length=1)
    min_order_units: int = Field(ge=0)
    max_order_units: int = Field(ge=1)
    languages: list[Literal["en", "nl", "id"]] = ["en"]
    contact_email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")

    @model_validator(mode="after")
    def sensible_range(self) -> "NewPartner":
        if self.min_order_units > self.max_order_units:
            raise ValueError("min_order_units must not exceed max_order_units")
        return self


class RegisteredPartner(BaseModel):
    partner: domain.Partner
    api_key: str = Field(description="Shown once: the partner's bearer key")


class NewDemand(domain.Model):
    kind: Literal["rfq", "standing_interest"] = "rfq"
    category: str | None = Field(default=None, pattern=r"^[a-z][a-z_]{1,40}$")
    hs_prefix: str | None = Field(default=None, pattern=r"^[0-9]{2,6}$")
    quantity: int = Field(ge=1, le=1_000_000)
    target_price_min: int | None = Field(default=None, ge=0, description="Cents per unit")
    target_price_max: int | None = Field(default=None, ge=1, description="Cents per unit")
    currency: Literal["EUR", "AUD"]
    required_certificates: list[Literal["pirt", "bpom_md", "halal", "sni", "organic", "svlk"]] = []
    needed_by: date | None = None
    destination_city: str = Field(min_length=2, max_length=80)
    incoterm: Literal["FOB", "CIF", "DAP"] = Field(default="FOB", description="FOB Tanjung Perak (Surabaya) by default")

    @model_validator(mode="after")
    def consistent(self) -> "NewDemand":
        if not (self.category or self.hs_prefix):
            raise ValueError("give a category or an HS prefix")
        if self.target_price_min and self.target_price_max and self.target_price_min > self.target_price_max:
            raise ValueError("target_price_min must not exceed target_price_max")
        return self


class Decline(domain.Model):
    reason: str = Field(default="", max_length=500)


class MatchView(BaseModel):
    match_id: str
    status: str
    terms: MatchTerms
    score: float
    breakdown: list[ScorePart]
    proposed_at: datetime
    expires_at: datetime
    accepted_by: list[Side]


def view(pair: domain.Pair) -> MatchView:
    current = pair.current
    assert current is not None
    return MatchView(
        match_id=current.match_id,
        status=current.status,
        terms=current.terms,
        score=current.score,
        breakdown=current.breakdown,
        proposed_at=current.proposed_at,
        expires_at=current.expires_at,
        accepted_by=current.accepted_by,
    )


def build_router(
    service: MatchingService, store: MatchingStore, rules: RulesHolder, settings: MatchingSettings
) -> APIRouter:
    router = APIRouter()
    tokens = parse_operator_tokens(settings.operator_tokens)

    identify = operator_or_partner(tokens, store.partner_by_key)

    async def caller(found: Annotated[tuple, Depends(identify)]) -> Caller:
        region, partner = found
        return Caller(operator_region=region, partner=partner)

    Authenticated = Annotated[Caller, Depends(caller)]

    def operator(who: Caller) -> str:
        if who.operator_region is None:
            raise Forbidden("operators only")
        return who.operator_region

    def partner(who: Caller) -> domain.Partner:
        if who.partner is None:
            raise Forbidden("partners only")
        return who.partner

    async def visible_match(match_id: str, who: Caller) -> domain.Pair:
        pair = await store.pair_of_match(match_id)
        if pair is None or not (
            (who.partner and pair.partner_id == who.partner.partner_id) or who.operator_region == pair.region
        ):
            raise NotFound(f"no match {match_id}")
        return pair

    async def acting(call):
        async with refusals():
            return await call

    @router.post("/partners", status_code=201, response_model=RegisteredPartner, tags=["partners"])
    async def register_partner(body: NewPartner, who: Authenticated) -> RegisteredPartner:
        operator(who)
        partner_, api_key = await service.create_partner(body.model_dump())
        return RegisteredPartner(partner=partner_, api_key=api_key)

    @router.get("/partners", response_model=list[domain.Partner], tags=["partners"])
    async def list_partners(who: Authenticated) -> list[domain.Partner]:
        operator(who)
        return [p.model_copy(update={"api_key_sha256": "hidden"}) for p in await store.all_partners()]

    @router.post(
        "/partners/{partner_id}/verification",
        response_model=domain.Partner,
        tags=["partners"],
        summary="An operator or trade office verifies the partner; only verified partners get proposals",
    )
    async def verify_partner(partner_id: str, who: Authenticated) -> domain.Partner:
        operator(who)
        verified = await acting(service.change_partner(partner_id, lambda _: {"verified": True}))
        return verified.model_copy(update={"api_key_sha256": "hidden"})

    @router.post("/demands", status_code=201, response_model=domain.Demand, tags=["demand"])
    async def post_demand(body: NewDemand, who: Authenticated) -> domain.Demand:
        me = partner(who)
        if body.needed_by and body.needed_by <= service.clock.now().date():
            raise Unprocessable("needed_by must be in the future", field="needed_by")
        return await service.post_demand(me, body.model_dump())

    @router.get("/demands", response_model=list[domain.Demand], tags=["demand"])
    async def list_demands(who: Authenticated) -> list[domain.Demand]:
        return await store.demands_of(who.partner.partner_id if who.partner else None)

    @router.post("/demands/{demand_id}/closure", response_model=domain.Demand, tags=["demand"])
    async def close_demand(demand_id: str, who: Authenticated) -> domain.Demand:
        me = partner(who)
        demand = await store.demand(demand_id)
        if demand is None or demand.partner_id != me.partner_id:
            raise NotFound(f"no demand {demand_id}")
        return await acting(service.close_demand(demand_id))

    @router.get("/matches", response_model=list[MatchView], tags=["matches"])
    async def list_matches(
        who: Authenticated,
        status: Literal["proposed", "confirmed", "declined", "expired"] | None = None,
        msme_id: str | None = Query(default=None, max_length=40),
    ) -> list[MatchView]:
        query: dict = {"partner_id": who.partner.partner_id} if who.partner else {"region": who.operator_region}
        if status:
            query["current_status"] = status
        if msme_id:
            query["msme_id"] = msme_id
        return [view(pair) for pair in await store.pairs_where(query) if pair.current]

    @router.get("/matches/{match_id}", response_model=MatchView, tags=["matches"])
    async def get_match(match_id: str, who: Authenticated) -> MatchView:
        return view(await visible_match(match_id, who))

    @router.post(
        "/matches/{match_id}/acceptance",
        response_model=MatchView,
        tags=["matches"],
        summary="The partner accepts for itself; an operator accepts on behalf of the UMKM",
    )
    async def accept(match_id: str, who: Authenticated) -> MatchView:
        await visible_match(match_id, who)
        return view(await acting(service.accept(match_id, "partner" if who.partner else "msme")))

    @router.post("/matches/{match_id}/decline", response_model=MatchView, tags=["matches"])
    async def decline(match_id: str, body: Decline, who: Authenticated) -> MatchView:
        await visible_match(match_id, who)
        side: Side = "partner" if who.partner else "msme"
        now = service.clock.now
        return view(
            await acting(
                service.change_match(match_id, lambda p: domain.decline(p, match_id, side, body.reason, now()))
            )
        )

    @router.post(
        "/matches/{match_id}/sales-reports",
        status_code=201,
        response_model=MatchView,
        tags=["feedback"],
        summary="The partner reports sales of a confirmed match: units, revenue, returns, rating, reorder",
    )
    async def report_sales(match_id: str, body: domain.SalesReport, who: Authenticated) -> MatchView:
        me = partner(who)
        pair = await visible_match(match_id, who)
        if pair.partner_id != me.partner_id:
            raise NotFound(f"no match {match_id}")
        report_id = f"rep-{uuid4().hex[:12]}"
        now = service.clock.now
        return view(
            await acting(
                service.change_match(match_id, lambda p: domain.report_sales(p, match_id, body, report_id, now()))
            )
        )

    @router.get("/rules/{country}/{category}", response_model=Verdict, tags=["rules"])
    async def rule(country: Literal["NL", "AU"], category: str) -> Verdict:
        return rules.get().verdict(country, category)

    @router.post("/rules/reload", tags=["rules"], summary="Reload destination rules from the data file")
    async def reload_rules(who: Authenticated) -> dict[str, int]:
        operator(who)
        reloaded = rules.reload()
        return {country: len(c.rules) for country, c in reloaded.countries.items()}

    return router
