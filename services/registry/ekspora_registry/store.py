"""Every database call of the registry lives here."""

from collections.abc import Sequence

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from ekspora_contracts.envelope import CloudEvent
from ekspora_kit.outbox import new_document_with_outbox
from ekspora_registry.domain import Msme


class DuplicateNib(Exception):
    pass


class RegistryStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self.msmes = db["msmes"]

    async def ensure_indexes(self) -> None:
        await self.msmes.create_index("profile.nib", unique=True)
        await self.msmes.create_index([("profile.region", 1), ("registered_at", 1)])

    async def add(self, msme: Msme, events: Sequence[CloudEvent]) -> None:
        document = {"_id": msme.msme_id, **msme.model_dump(mode="python")}
        try:
            await self.msmes.insert_one(new_document_with_outbox(document, events))
        except DuplicateKeyError as error:
            raise DuplicateNib(msme.profile.nib) from error

    async def get(self, msme_id: str) -> Msme | None:
        document = await self.msmes.find_one({"_id": msme_id}, {"outbox": 0})
        return _to_msme(document) if document else None

    async def list(self, region: str, skip: int, limit: int) -> tuple[list[Msme], int]:
        query = {"profile.region": region}
        total = await self.msmes.count_documents(query)
        cursor = self.msmes.find(query).sort("registered_at", 1).skip(skip).limit(limit)
        return [_to_msme(document) async for document in cursor], total


def _to_msme(document: dict) -> Msme:
    return Msme.model_validate({key: document[key] for key in ("msme_id", "registered_at", "profile")})
