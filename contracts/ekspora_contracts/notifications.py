"""Events produced by the notifications service: what owners answer by replying to its messages."""

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from ekspora_contracts.envelope import EventData, Region
from ekspora_contracts.topics import NOTIFICATIONS_REPLIES, Stream


class ProposalAnswered(EventData):
    """An UMKM's owner accepted or declined a proposal by replying to it on WhatsApp, from the number
    on the UMKM's contact; matching applies it as an operator's answer for the owner would be."""

    event_type: ClassVar[str] = "ekspora.notifications.proposal.answered.v1"
    stream: ClassVar[Stream] = NOTIFICATIONS_REPLIES

    match_id: str
    msme_id: str
    region: Region
    answer: Literal["accept", "decline"]
    channel: Literal["whatsapp"]
    message_id: str = Field(description="The owner's message that answered, as the channel identifies it")
    answered_at: datetime = Field(description="When the owner sent it, as the channel reports")

    def aggregate_id(self) -> str:
        return self.match_id
