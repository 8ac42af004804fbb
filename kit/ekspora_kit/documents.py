"""Pydantic models to MongoDB documents and back. BSON has datetimes but no bare dates."""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel


def to_document(model: BaseModel, **extra: Any) -> dict[str, Any]:
    return {**_bson_safe(model.model_dump(mode="python")), **extra}


def _bson_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _bson_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_bson_safe(item) for item in value]
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return value
