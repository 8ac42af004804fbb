"""`Idempotency-Key` on every POST of every service, as Stripe has it: the first request with a key
runs; a repeat of it (same caller, path and body) gets the first answer again, marked
`Idempotent-Replayed: true`, and changes nothing; the same key with another body is refused (422);
a repeat while the first still runs is told to retry (409 busy). A 5xx is not kept, so a retry runs
again. Keys are claimed by unique insert (one winner on FerretDB and MongoDB alike) and kept for
KEPT_DAYS days.
"""

import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from ekspora_kit.clock import Clock
from ekspora_kit.leases import aware

HEADER = "Idempotency-Key"
VALID_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, as HTTP header values travel
KEPT_DAYS = 2
ABANDONED_AFTER = timedelta(seconds=60)  # a claim whose process died before it answered


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str


class IdempotencyKeys:
    def __init__(self, collection: AsyncCollection, clock: Clock) -> None:
        self.collection, self.clock = collection, clock

    async def ensure_indexes(self) -> None:
        await self.collection.create_index("day")

    async def claim(self, record_id: str, fingerprint: str) -> dict[str, Any] | None:
        """None when this request may run; otherwise the record that was there first."""
        now = self.clock.now()
        record = {"_id": record_id, "fingerprint": fingerprint, "at": now, "day": now.date().isoformat()}
        try:
            await self.collection.insert_one(record)
            return None
        except DuplicateKeyError:
            first = await self.collection.find_one({"_id": record_id})
        if first is None:  # forgotten in between (its run failed): run now
            return await self.claim(record_id, fingerprint)
        if "status" not in first and now - aware(first["at"]) > ABANDONED_AFTER:
            await self.collection.delete_one({"_id": record_id, "at": first["at"]})
            return await self.claim(record_id, fingerprint)
        return first

    async def keep(self, record_id: str, answer: Answer) -> None:
        fields = {"status": answer.status, "body": answer.body, "content_type": answer.content_type}
        await self.collection.update_one({"_id": record_id}, {"$set": fields})

    async def forget(self, record_id: str) -> None:
        await self.collection.delete_one({"_id": record_id})

    async def expire(self) -> int:
        """Deletes the keys of the week before the kept days (run hourly)."""
        today = self.clock.now().date()
        days = [(today - timedelta(days=KEPT_DAYS + n)).isoformat() for n in range(1, 8)]
        return sum([(await self.collection.delete_many({"day": day})).deleted_count for day in days])


def refusal(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": code, "message": message, "errors": [{"field": HEADER, "message": message}]}
    return JSONResponse(status_code=status, content=body, headers=headers)


def honour_idempotency_keys(keys: IdempotencyKeys) -> Callable[[Request, Callable], Awaitable[Response]]:
    async def middleware(request: Request, call_next: Callable) -> Response:
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None:
            return await call_next(request)
        if not VALID_KEY.fullmatch(key):
            return refusal(422, "invalid_idempotency_key", f"{HEADER} is 1 to 255 printable ASCII characters")
        caller = hashlib.sha256(request.headers.get("authorization", "").encode()).hexdigest()
        record_id = hashlib.sha256(f"{caller}|{request.url.path}|{key}".encode()).hexdigest()
        fingerprint = hashlib.sha256(await request.body()).hexdigest()
        first = await keys.claim(record_id, fingerprint)
        if first is not None:
            if first["fingerprint"] != fingerprint:
                return refusal(422, "idempotency_key_reused", f"this {HEADER} was used with another request body")
            if "status" not in first:
                message = f"a request with this {HEADER} is still being handled; try again shortly"
                return refusal(409, "busy", message, {"Retry-After": "1"})
            headers = {"Idempotent-Replayed": "true"}
            return Response(first["body"], first["status"], headers=headers, media_type=first["content_type"])
        try:
            response = await call_next(request)
            body = b"".join([chunk async for chunk in response.body_iterator])
        except BaseException:
            await keys.forget(record_id)
            raise
        if response.status_code >= 500:
            await keys.forget(record_id)
        else:
            content_type = response.headers.get("content-type", "application/json")
            await keys.keep(record_id, Answer(response.status_code, body, content_type))
        return Response(body, response.status_code, headers=dict(response.headers))

    return middleware
