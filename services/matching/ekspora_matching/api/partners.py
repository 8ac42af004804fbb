"""Partners abroad: registered and verified by operators."""

from typing import Literal

from fastapi import APIRouter
from pydantic import Field, model_validator

from ekspora_contracts.matching import PartnerKind
from ekspora_kit.domain import Model
from ekspora_kit.inputs import Count, Line
from ekspora_matching import domain
from ekspora_matching.api.deps import Authenticated, Matching

router = APIRouter(tags=["partners"])


class NewPartner(Model):
    kind: PartnerKind
    name: Line = Field(min_length=2, max_length=120)
    country: Literal["NL", "AU"]
    city: Line = Field(min_length=2, max_length=80)
    categories: list[str] = Field(min_length=1)
    min_order_units: Count = Field(ge=0)
    max_order_units: Count = Field(ge=1)
    languages: list[Literal["en", "nl", "id"]] = ["en"]
    contact_email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
    address: Line | None = Field(
        default=None, min_length=5, max_length=200, description="Street, postcode and city, as invoices name it"
    )

    @model_validator(mode="after")
    def sensible_range(self) -> "NewPartner":
        if self.min_order_units > self.max_order_units:
            raise ValueError("min_order_units must not exceed max_order_units")
        return self


@router.post(
    "/partners",
    status_code=201,
    response_model=domain.Partner,
    summary="Register a partner abroad; the identity service then issues its API keys",
)
async def register_partner(body: NewPartner, who: Authenticated, matching: Matching) -> domain.Partner:
    who.operator()
    return await matching.service.create_partner(body.model_dump())


@router.get("/partners", response_model=list[domain.Partner])
async def list_partners(who: Authenticated, matching: Matching) -> list[domain.Partner]:
    who.operator()
    return await matching.store.all_partners()


@router.post(
    "/partners/{partner_id}/verification",
    response_model=domain.Partner,
    summary="An operator or trade office verifies the partner; only verified partners get proposals",
)
async def verify_partner(partner_id: str, who: Authenticated, matching: Matching) -> domain.Partner:
    who.operator()
    return await matching.service.change_partner(partner_id, lambda _: {"verified": True})
