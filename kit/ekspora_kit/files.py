"""Uploaded evidence (certificates, transport documents): checked, then kept once per content in the
owning service's own database through GridFS, which FerretDB and MongoDB both serve.

A file is known by the SHA-256 of its bytes: the same scan uploaded twice is stored once, and a
record that names a hash names exactly those bytes.
"""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from fastapi import Request, Response
from gridfs import AsyncGridFSBucket, NoFile
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from ekspora_kit.domain import Model, NotFound
from ekspora_kit.http import ApiError, Unprocessable

# What a file of each accepted type begins with; the declared type must agree with it. A type
# without a signature (CSV) is checked by whoever reads it.
Signatures = Mapping[str, bytes | None]
SCANS: Signatures = {"application/pdf": b"%PDF-", "image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SPREADSHEETS: Signatures = {XLSX: b"PK\x03\x04", "text/csv": None}
NAMES = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG", XLSX: "XLSX workbook", "text/csv": "CSV"}


class TooLarge(ApiError):
    status_code = 413


class UnsupportedType(ApiError):
    status_code = 415


@dataclass(frozen=True)
class Upload:
    content: bytes
    content_type: str
    filename: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    def stored(self, by: str, at: datetime) -> "StoredFile":
        """Its record, as whoever keeps it extends it (with its review, say)."""
        return StoredFile(
            sha256=self.sha256,
            filename=self.filename,
            content_type=self.content_type,
            size=len(self.content),
            uploaded_at=at,
            uploaded_by=by,
        )


class StoredFile(Model):
    """What a record keeps of an uploaded file: its bytes are in the FileStore under `sha256`."""

    sha256: str
    filename: str
    content_type: str
    size: int
    uploaded_at: datetime
    uploaded_by: str


async def served(files: "FileStore", file: StoredFile | None, missing: str) -> Response:
    """The kept file a record names, or 404 saying `missing` when it names none (or it is gone)."""
    content = await files.read(file.sha256) if file else None
    if file is None or content is None:
        raise NotFound(missing)
    return Response(
        content,
        media_type=file.content_type,
        headers={"Content-Disposition": f'inline; filename="{file.filename}"', "X-Content-SHA256": file.sha256},
    )


async def read_upload(request: Request, *, filename: str, max_bytes: int, accepted: Signatures = SCANS) -> Upload:
    """The request's body as an upload: refused (nothing read past the limit, nothing stored) when it
    is empty, too large, or not one of the `accepted` types it says it is."""
    declared = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if declared not in accepted:
        raise UnsupportedType(
            f"send the file as {' or '.join(accepted)}, not {declared or 'no type'}", field="content-type"
        )
    if int(request.headers.get("content-length") or 0) > max_bytes:
        raise TooLarge(f"a file may be at most {max_bytes:,} bytes", field="file")
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > max_bytes:
            raise TooLarge(f"a file may be at most {max_bytes:,} bytes", field="file")
    if not received:
        raise Unprocessable("the file is empty", field="file")
    if (signature := accepted[declared]) is not None and not received.startswith(signature):
        raise UnsupportedType(f"the file is not a {NAMES.get(declared, declared)}", field="file")
    return Upload(bytes(received), declared, filename)


class FileStore:
    def __init__(self, db: AsyncDatabase, bucket: str = "files") -> None:
        self.bucket = AsyncGridFSBucket(db, bucket_name=bucket)
        self.files = db[f"{bucket}.files"]
        self.chunks = db[f"{bucket}.chunks"]

    async def keep(self, upload: Upload) -> str:
        """Stores the bytes once (by their hash) and returns the hash. A half-written earlier attempt
        (chunks without their file record, after a crash) is cleared and written again."""
        digest = upload.sha256
        if await self.files.find_one({"_id": digest}, {"_id": 1}):
            return digest
        metadata = {"content_type": upload.content_type, "sha256": digest}
        for _ in range(2):
            try:
                await self.bucket.upload_from_stream_with_id(digest, upload.filename, upload.content, metadata=metadata)
                return digest
            except DuplicateKeyError:
                if await self.files.find_one({"_id": digest}, {"_id": 1}):  # someone stored it meanwhile
                    return digest
                await self.chunks.delete_many({"files_id": digest})
        raise RuntimeError(f"could not store {digest}")

    async def read(self, digest: str) -> bytes | None:
        try:
            stream = await self.bucket.open_download_stream(digest)
        except NoFile:
            return None
        return await stream.read()
