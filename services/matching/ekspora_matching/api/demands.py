"""Demand: partners' requests for quotation and standing interest."""

from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import Field, model_validator

from ekspora_kit.domain import Model, NotFound
from ekspora_kit.http import Unprocessable
from ekspora_kit.inputs import Day, Line, Money
from ekspora_matching import domain
from ekspora_matching.api.deps import Authenticated, Matching

router = APIRouter(tags=["demand"])


class NewDemand(Model):
    kind: Literal["rfq", "standing_interest"] = "rfq"
    category: str | None = Field(default=None, pattern=r"^[a-z][a-z_]{1,40}$")
    hs_prefix: str | None = Field(default=None, pattern=r"^[0-9]{2,6}$")
    quantity: int = Field(ge=1, le=1_000_000)
    target_price_min: Money | None = Field(default=None, ge=0, description="Cents per unit")
    target_price_max: Money | None = Field(default=None, ge=1, description="Cents per unit")
    currency: Literal["EUR", "AUD"]
    required_certificates: list[Literal["pirt", "bpom_md", "halal", "sni", "organic", "svlk"]] = []
    needed_by: Day | None = None
    destination_city: Line = Field(min_length=2, max_length=80)
    incoterm: Literal["FOB", "CFR", "CIF", "DAP"] = Field(
        default="FOB", description="FOB Tanjung Perak (Surabaya) by default"
    )
    schedule: Literal["monthly", "quarterly"] | None = Field(
        default=None, description="A standing interest that places an order on this schedule, the first today"
    )
    needed_within_days: int | None = Field(default=None, ge=14, le=365, description="Each order is needed by then")

    @model_validator(mode="after")
    def consistent(self) -> "NewDemand":
        if not (self.category or self.hs_prefix):
            raise ValueError("give a category or an HS prefix")
        if self.target_price_min and self.target_price_max and self.target_price_min > self.target_price_max:
            raise ValueError("target_price_min must not exceed target_price_max")
        if self.schedule and self.kind != "standing_interest":
            raise ValueError("only a standing interest has a schedule")
        if self.needed_within_days and not self.schedule:
            raise ValueError("needed_within_days is for a standing interest with a schedule")
        if self.schedule and self.needed_by:
            raise ValueError("a standing interest with a schedule has no needed_by: each order has its own")
        return self


@router.post("/demands", status_code=201, response_model=domain.Demand)
async def post_demand(body: NewDemand, who: Authenticated, matching: Matching) -> domain.Demand:
    me = who.the_partner()
    if body.needed_by and body.needed_by <= matching.service.clock.now().date():
        raise Unprocessable("needed_by must be in the future", field="needed_by")
    if refusal := domain.unserved(body.destination_city, me.country, await matching.store.lanes()):
        raise Unprocessable(refusal, field="destination_city")
    return await matching.service.post_demand(me, body.model_dump())


@router.get("/lanes", response_model=list[domain.Lane], summary="The destinations shipping serves, and how")
async def list_lanes(who: Authenticated, matching: Matching) -> list[domain.Lane]:
    return [lane for lane in await matching.store.lanes() if lane.served]


@router.get("/demands", response_model=list[domain.Demand])
async def list_demands(who: Authenticated, matching: Matching) -> list[domain.Demand]:
    return await matching.store.demands_of(who.partner.partner_id if who.partner else None)


class DemandChange(Model):
    quantity: int | None = Field(default=None, ge=1, le=1_000_000)
    preferred_products: list[Annotated[str, Field(pattern=r"^prd-[0-9a-f]{6,32}$")]] | None = Field(
        default=None, max_length=10, description="A standing interest's suppliers, offered their part first"
    )

    @model_validator(mode="after")
    def one_change_at_least(self) -> "DemandChange":
        if self.quantity is None and self.preferred_products is None:
            raise ValueError("give a quantity or preferred_products")
        return self


@router.patch(
    "/demands/{demand_id}",
    response_model=domain.Demand,
    summary="Change how much a request asks for, or a standing interest's suppliers",
)
async def change_demand(demand_id: str, body: DemandChange, who: Authenticated, matching: Matching) -> domain.Demand:
    me = who.the_partner()
    demand = await matching.store.demand(demand_id)
    if demand is None or demand.partner_id != me.partner_id:
        raise NotFound(f"no demand {demand_id}")
    if body.preferred_products is not None and demand.kind != "standing_interest":
        raise Unprocessable("only a standing interest keeps its suppliers", field="preferred_products")
    return await matching.service.change_demand(demand_id, body.model_dump(exclude_none=True))


@router.post("/demands/{demand_id}/closure", response_model=domain.Demand)
async def close_demand(demand_id: str, who: Authenticated, matching: Matching) -> domain.Demand:
    me = who.the_partner()
    demand = await matching.store.demand(demand_id)
    if demand is None or demand.partner_id != me.partner_id:
        raise NotFound(f"no demand {demand_id}")
    return await matching.service.close_demand(demand_id)
