"""Every database call of owners' WhatsApp conversations: the messages they sent (each handled
once, its answer to a proposal published from its own change record), the proposals open to them,
and which WhatsApp user ids came with which phone numbers."""

from contextlib import suppress
from datetime import datetime

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from ekspora_contracts.matching import MatchTerms
from ekspora_kit.aggregates import VersionedStore
from ekspora_notifications.replies import OpenProposal, OwnerMessage, Readiness


class ConversationStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.received = db["owner_messages"]
        self.messages = VersionedStore(self.received, OwnerMessage)
        self.proposals = db["open_proposals"]
        self.users = db["whatsapp_users"]
        self.windows = db["whatsapp_windows"]
        self.readiness = db["readiness"]

    async def ensure_indexes(self) -> None:
        await self.proposals.create_index("msme_id")

    async def proposal_opened(self, terms: MatchTerms, proposed_at: datetime) -> None:
        """Open until closed; a proposal closed before it was heard of (or heard again) stays closed."""
        opened = {
            "msme_id": terms.msme_id,
            "product": terms.product_name,
            "partner": terms.partner_name,
            "proposed_at": proposed_at,
            "open": True,
        }
        with suppress(DuplicateKeyError):  # opened or closed at the same instant by another instance
            await self.proposals.update_one({"_id": terms.match_id}, {"$setOnInsert": opened}, upsert=True)

    async def proposal_closed(self, match_id: str) -> None:
        try:
            await self.proposals.update_one({"_id": match_id}, {"$set": {"open": False}}, upsert=True)
        except DuplicateKeyError:  # opened at the same instant: close what was opened
            await self.proposals.update_one({"_id": match_id}, {"$set": {"open": False}})

    async def open_proposals(self, msme_ids: list[str]) -> list[OpenProposal]:
        found: list[OpenProposal] = []
        for msme_id in msme_ids:  # by equality each: FerretDB scans for $in
            async for document in self.proposals.find({"msme_id": msme_id, "open": True}):
                found.append(
                    OpenProposal(
                        document["_id"], msme_id, document["product"], document["partner"], document["proposed_at"]
                    )
                )
        return found

    async def link_user(self, user_id: str, phone: str) -> None:
        """The phone number a WhatsApp user id came with (a user who later hides it behind a
        username is still known by the id)."""
        with suppress(DuplicateKeyError):
            await self.users.replace_one({"_id": user_id}, {"phone": phone}, upsert=True)

    async def phone_of_user(self, user_id: str) -> str | None:
        document = await self.users.find_one({"_id": user_id})
        return document["phone"] if document else None

    async def owner_wrote(self, phone: str, at: datetime) -> None:
        """A message from `phone` at `at` opens (or keeps open) its 24-hour window."""
        with suppress(DuplicateKeyError):
            await self.windows.update_one({"_id": phone}, {"$max": {"last": at}}, upsert=True)

    async def last_message_from(self, phone: str) -> datetime | None:
        document = await self.windows.find_one({"_id": phone})
        return document["last"] if document else None

    async def assessed(self, readiness: Readiness) -> None:
        """Keeps the newest assessment of an UMKM; an older or repeated one changes nothing."""
        newer_only = {"_id": readiness.msme_id, "assessed_at": {"$lt": readiness.assessed_at}}
        with suppress(DuplicateKeyError):  # stored already, as new or newer
            await self.readiness.update_one(newer_only, {"$set": readiness.model_dump()}, upsert=True)

    async def readiness_of(self, msme_id: str) -> Readiness | None:
        document = await self.readiness.find_one({"_id": msme_id})
        return Readiness.model_validate({k: v for k, v in document.items() if k != "_id"}) if document else None
