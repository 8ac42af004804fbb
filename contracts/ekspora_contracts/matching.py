"""Events produced by the matching service."""

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from ekspora_contracts.envelope import EventData, Region
from ekspora_contracts.topics import MATCHING_SALES, Stream

Currency = Literal["EUR", "AUD", "IDR"]


class SalesReported(EventData):
    """A partner's sales feedback on a confirmed match or delivered order ("feedback dari penjualan")."""

    event_type: ClassVar[str] = "ekspora.matching.sales.reported.v1"
    stream: ClassVar[Stream] = MATCHING_SALES

    report_id: str
    match_id: str
    msme_id: str
    product_id: str
    partner_id: str
    region: Region
    units_sold: int = Field(ge=0)
    revenue_amount: int = Field(ge=0, description="Minor units (cents) of revenue_currency")
    revenue_currency: Currency
    returns: int = Field(ge=0)
    rating: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2000)
    will_reorder: bool
    reported_at: datetime

    def aggregate_id(self) -> str:
        return self.msme_id
