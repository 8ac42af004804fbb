"""The operator deployment parses and is wired as the design card says (no Docker engine here)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("registry", "matching", "shipping", "notifications")


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_service_waits_for_healthy_kafka_and_mongo():
    services = compose()["services"]
    for name in SERVICES:
        assert services[name]["depends_on"] == {
            "kafka": {"condition": "service_healthy"},
            "mongo": {"condition": "service_healthy"},
        }
        assert "healthcheck" in services[name]
    assert "healthcheck" in services["kafka"] and "healthcheck" in services["mongo"]
    assert services["kafka"]["image"].startswith("apache/kafka:4.0")


def test_each_service_has_its_own_database_port_and_module():
    services = compose()["services"]
    databases = {services[n]["environment"]["EKSPORA_MONGO_DATABASE"] for n in SERVICES}
    ports = {services[n]["environment"]["EKSPORA_HTTP_PORT"] for n in SERVICES}
    assert len(databases) == len(ports) == len(SERVICES)
    for name in SERVICES:
        assert services[name]["command"] == ["python", "-m", f"ekspora_{name}"]
        assert (ROOT / "services" / name / f"ekspora_{name}" / "__main__.py").exists()
