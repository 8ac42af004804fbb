"""Signed, expiring links to an owner's readiness report, and the read-only page they open.
Pure, no I/O: the secret and the time are arguments.

A link names the UMKM and the moment it stops working, signed with HMAC-SHA256: whoever holds it
reads that report until then, as an owner forwarding it to a mentor would want, and nothing else.
The page is plain HTML for a phone's browser: no script, nothing loaded from elsewhere."""

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from html import escape

from ekspora_notifications.replies import Readiness


class LinkRefused(Exception):
    """Not a link this service signed, or one that has expired (`expired`)."""

    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.expired = expired


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: str) -> str:
    return _encode(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())


def sign(secret: str, msme_id: str, until: datetime) -> str:
    payload = f"{msme_id}.{int(until.timestamp())}"
    return f"{_encode(payload.encode())}.{_mac(secret, payload)}"


def read(secret: str, token: str, now: datetime) -> tuple[str, datetime]:
    """(the UMKM's id, until when the link works) of a link signed with `secret`."""
    encoded, _, mac = token.partition(".")
    try:
        payload = _decode(encoded).decode()
        msme_id, _, until_seconds = payload.rpartition(".")
        until = datetime.fromtimestamp(int(until_seconds), UTC)
    except (ValueError, UnicodeDecodeError):
        raise LinkRefused("not a report link") from None
    if not secret or not msme_id or not hmac.compare_digest(mac, _mac(secret, payload)):
        raise LinkRefused("not a report link this service signed")
    if now >= until:
        raise LinkRefused(f"this link stopped working on {until:%Y-%m-%d}", expired=True)
    return msme_id, until


WORDS = {
    "id": {
        "title": "Laporan kesiapan ekspor",
        "tier": "Tingkat kesiapan",
        "score": "Skor",
        "assessed": "Dinilai pada",
        "steps": "Langkah berikutnya",
        "none": "Tidak ada kekurangan: usaha Anda siap ekspor.",
        "until": "Tautan ini berlaku sampai",
    },
    "en": {
        "title": "Export readiness report",
        "tier": "Readiness",
        "score": "Score",
        "assessed": "Assessed on",
        "steps": "Next steps",
        "none": "Nothing missing: your business is export-ready.",
        "until": "This link works until",
    },
}
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none';"
    " frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the link is the key: never pass it on
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex",
}


def page(readiness: Readiness, business: str, tier_label: str, language: str, until: datetime) -> str:
    words = WORDS.get(language, WORDS["en"])
    step_key = "next_step_id" if language == "id" else "next_step_en"
    steps = "".join(f"<li>{escape(gap[step_key])}</li>" for gap in readiness.gaps)
    listed = f"<ol>{steps}</ol>" if steps else f"<p>{escape(words['none'])}</p>"
    return f"""<!doctype html>
<html lang="{escape(language)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(words["title"])}: {escape(business)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:1rem;line-height:1.5;max-width:40rem}}
dt{{font-weight:bold}}dd{{margin:0 0 .5rem}}</style></head>
<body><main><h1>{escape(words["title"])}</h1><p>{escape(business)}</p>
<dl><dt>{escape(words["tier"])}</dt><dd id="tier">{escape(tier_label)}</dd>
<dt>{escape(words["score"])}</dt><dd id="score">{readiness.score}/100</dd>
<dt>{escape(words["assessed"])}</dt><dd>{readiness.assessed_at:%Y-%m-%d}</dd></dl>
<h2>{escape(words["steps"])}</h2>{listed}
<p><small>{escape(words["until"])} {until:%Y-%m-%d}.</small></p></main></body></html>
"""
