"""Scans as an operator receives them: a one-page PDF standing in for a certificate or a transport
document, and a certificate added with its scan uploaded and verified, as an operator does it."""

from datetime import UTC, datetime
from typing import Any

import httpx
from fpdf import FPDF

SCANNED = datetime(2026, 1, 1, tzinfo=UTC)


def scan_of(title: str, reference: str) -> bytes:
    document = FPDF()
    document.set_creation_date(SCANNED)  # the same scan is the same bytes
    document.add_page()
    document.set_font("Helvetica", size=14)
    document.cell(text=f"{title.replace('_', ' ').upper()} - {reference}")
    return bytes(document.output())


def _steps(product_path: str, certificate: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    evidence = f"{product_path}/certificates/{certificate['kind']}/evidence"
    scan = scan_of(f"certificate {certificate['kind']}", str(certificate["number"]))
    return [
        ("POST", f"{product_path}/certificates", {"json": certificate}),
        (
            "PUT",
            evidence,
            {"content": scan, "headers": {"content-type": "application/pdf"}, "params": {"filename": "scan.pdf"}},
        ),
        ("PUT", f"{evidence}/review", {"json": {"status": "verified"}}),
    ]


def certify(client: httpx.Client, product_path: str, certificate: dict[str, Any]) -> dict[str, Any]:
    """Adds the certificate, uploads its scan and verifies it; the product as it then is."""
    response = None
    for method, path, request in _steps(product_path, certificate):
        response = client.request(method, path, **request)
        response.raise_for_status()
    assert response is not None
    return response.json()


async def certified(client: httpx.AsyncClient, product_path: str, certificate: dict[str, Any]) -> dict[str, Any]:
    """`certify` for an asynchronous client."""
    response = None
    for method, path, request in _steps(product_path, certificate):
        response = await client.request(method, path, **request)
        response.raise_for_status()
    assert response is not None
    return response.json()
