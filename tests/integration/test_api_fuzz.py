"""Every operation of every service, fuzzed from its own OpenAPI document by schemathesis, as an
operator and as a partner: no answer is a 5xx, and every answer is one the document declares, with
the body it declares. Bounded: a few examples per operation, a fixed seed, so a run takes minutes."""

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.integration.support import OPERATOR, OPERATOR_TOKEN

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
EXAMPLES_PER_OPERATION = 12


def fuzz(url: str, token: str, report: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{url}/openapi.json",
            "--checks",
            CHECKS,
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--seed",
            "20261202",
            "--workers",
            "1",  # hypothesis describes its strategies with ast, which CPython 3.11 does not run in two threads
            "--request-timeout",
            "20",
            "--header",
            f"Authorization: Bearer {token}",
            "--exclude-path-regex",
            "^/(healthz|readyz|metrics)$",
            "--suppress-health-check",
            "all",
            "--no-color",
            "--report",
            "junit",
            "--report-junit-path",
            str(report),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.mark.timeout(1800)
async def test_no_operation_answers_5xx_or_anything_its_document_does_not_declare(platform, tmp_path):
    quiet = {"EKSPORA_LOG_LEVEL": "WARNING"}
    services = {"identity": platform.identity()}
    services |= {
        name: platform.start(name, env=quiet) for name in ("registry", "matching", "shipping", "notifications")
    }
    partner = {
        "kind": "diaspora_business",
        "name": "Toko Fuzz Amsterdam",
        "country": "NL",
        "city": "Amsterdam",
        "categories": ["snack"],
        "min_order_units": 1,
        "max_order_units": 1000,
        "contact_email": "fuzz@toko.example",
    }
    async with httpx.AsyncClient(base_url=services["matching"].url, headers=OPERATOR) as matching:
        created = await matching.post("/partners", json=partner)
        assert created.status_code == 201, created.text
    partner_id = created.json()["partner_id"]
    token = await platform.partner_token(partner_id, accepted_by=(services["notifications"].url, "/webhooks/endpoints"))

    failures = []
    for name, process in services.items():
        for who, credential in (("operator", OPERATOR_TOKEN), ("partner", token)):
            run = fuzz(process.url, credential, tmp_path / f"{name}-{who}.xml")
            if run.returncode != 0:
                failures.append(f"== {name} as {who}\n{run.stdout[-6000:]}\n{run.stderr[-2000:]}")
    assert not failures, "\n".join(failures)
