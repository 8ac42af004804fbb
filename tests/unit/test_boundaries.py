"""Services are independent: none imports another's code; the kit and contracts import no service."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("registry", "matching", "shipping", "notifications")
SERVICE_PACKAGES = {f"ekspora_{s}" for s in SERVICES}


def imported_packages(directory: Path) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in directory.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_service_imports_no_other_service(service):
    imports = imported_packages(ROOT / "services" / service)
    foreign = (SERVICE_PACKAGES - {f"ekspora_{service}"}) & imports.keys()
    assert not foreign, {name: imports[name] for name in foreign}


@pytest.mark.parametrize("service", SERVICES)
def test_service_names_no_other_service_database(service):
    for path in (ROOT / "services" / service).rglob("*.py"):
        text = path.read_text()
        for other in set(SERVICES) - {service}:
            assert f'ekspora_{other}"' not in text and f'db["{other}' not in text, path


@pytest.mark.parametrize("shared", ["kit", "contracts"])
def test_shared_code_knows_no_service(shared):
    assert not SERVICE_PACKAGES & imported_packages(ROOT / shared).keys()
