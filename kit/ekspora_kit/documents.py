"""Pydantic models to MongoDB documents and back. BSON has datetimes but no bare dates or times."""

from datetime import date, datetime, time
from typing import Any

from pydantic import BaseModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError


def to_document(model: BaseModel, **extra: Any) -> dict[str, Any]:
    return {**_bson_safe(model.model_dump(mode="python")), **extra}


def _bson_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _bson_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_bson_safe(item) for item in value]
    if isinstance(value, time) or (isinstance(value, date) and not isinstance(value, datetime)):
        return value.isoformat()
    return value


async def keep_newest(collection: AsyncCollection, key: str, document: dict[str, Any]) -> bool:
    """Stores a view document unless one of the same or a newer `version` is there. True if stored.

    For views built from compacted topics, where an older record may arrive after a newer one."""
    try:
        result = await collection.update_one(
            {"_id": key, "version": {"$lt": document["version"]}}, {"$set": document}, upsert=True
        )
    except DuplicateKeyError:
        return False
    return result.modified_count == 1 or result.upserted_id is not None
