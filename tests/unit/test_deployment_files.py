"""The operator deployment parses and is wired as the design card says (no Docker engine here)."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("registry", "matching", "shipping", "notifications", "identity")


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_every_service_waits_for_a_provisioned_bus_and_mongo():
    services = compose()["services"]
    for name in SERVICES:
        assert services[name]["depends_on"] == {
            "bus-init": {"condition": "service_completed_successfully"},
            "mongo": {"condition": "service_healthy"},
        }
        assert "healthcheck" in services[name]
    assert services["bus-init"]["depends_on"] == {"kafka": {"condition": "service_healthy"}}
    assert "healthcheck" in services["kafka"] and "healthcheck" in services["mongo"]
    assert services["kafka"]["image"].startswith("apache/kafka:4.0")


def test_the_bus_takes_only_signed_in_clients_over_tls_and_each_service_signs_in_as_itself():
    services = compose()["services"]
    kafka = services["kafka"]["environment"]
    assert kafka["KAFKA_LISTENERS"] == "SASL_SSL://:9092,CONTROLLER://:9093"
    assert "PLAINTEXT:" not in kafka["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].replace("SASL_PLAINTEXT", "")
    assert kafka["KAFKA_AUTHORIZER_CLASS_NAME"].endswith("StandardAuthorizer")
    assert kafka["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    for name in SERVICES:
        environment = services[name]["environment"]
        assert environment["EKSPORA_KAFKA_USERNAME"] == name
        assert environment["EKSPORA_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert environment["EKSPORA_KAFKA_PASSWORD"] == f"${{EKSPORA_KAFKA_PASSWORD_{name.upper()}:?}}"


def test_each_service_has_its_own_database_port_and_module():
    services = compose()["services"]
    databases = {services[n]["environment"]["EKSPORA_MONGO_DATABASE"] for n in SERVICES}
    ports = {services[n]["environment"]["EKSPORA_HTTP_PORT"] for n in SERVICES}
    assert len(databases) == len(ports) == len(SERVICES)
    for name in SERVICES:
        assert services[name]["command"] == ["python", "-m", f"ekspora_{name}"]
        assert (ROOT / "services" / name / f"ekspora_{name}" / "__main__.py").exists()


def test_the_compose_file_is_valid_against_the_compose_specification_schema():
    """compose-spec.json comes from github.com/compose-spec/compose-go v2.16.2 (schema/compose-spec.json)."""
    import json

    from jsonschema import Draft202012Validator

    schema = json.loads((ROOT / "deploy" / "schemas" / "compose-spec.json").read_text())
    errors = sorted(Draft202012Validator(schema).iter_errors(compose()), key=lambda e: list(e.path))
    assert not errors, [f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors]


def test_the_schema_check_catches_a_broken_compose_file():
    import json

    from jsonschema import Draft202012Validator

    schema = json.loads((ROOT / "deploy" / "schemas" / "compose-spec.json").read_text())
    broken = compose()
    broken["services"]["registry"]["depends_on"] = {"kafka": {"condition": "when_it_feels_like_it"}}
    broken["services"]["matching"]["ports"] = [{"target": "not-a-port"}]
    assert len(list(Draft202012Validator(schema).iter_errors(broken))) >= 2


def test_prometheus_scrapes_every_service_and_grafana_is_provisioned():
    services = compose()["services"]
    prometheus = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    targets = {t for job in prometheus["scrape_configs"] for c in job["static_configs"] for t in c["targets"]}
    for name in SERVICES:
        assert f"{name}:{services[name]['environment']['EKSPORA_HTTP_PORT']}" in targets
    for service in ("prometheus", "grafana"):
        for volume in services[service]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), volume
    assert services["grafana"]["depends_on"] == {"prometheus": {"condition": "service_healthy"}}


def test_the_dashboard_shows_what_operators_asked_for_with_metrics_the_code_exports():
    import json
    import re

    dashboard = json.loads((ROOT / "deploy" / "grafana" / "dashboards" / "ekspora.json").read_text())
    titles = " | ".join(panel["title"].lower() for panel in dashboard["panels"])
    for wanted in (
        "events in",
        "events out",
        "handler latency",
        "outbox lag",
        "dead letters",
        "umkm per",
        "matches",
        "shipments per status",
        "notifications per channel",
    ):
        assert wanted in titles, wanted
    used = {
        m for panel in dashboard["panels"] for t in panel["targets"] for m in re.findall(r"ekspora_[a-z_]+", t["expr"])
    }
    source = "\n".join(
        p.read_text() for p in [*ROOT.glob("kit/ekspora_kit/*.py"), *ROOT.glob("services/*/ekspora_*/*.py")]
    )
    defined = set(re.findall(r'"(ekspora_[a-z_]+)"', source)) | set(re.findall(r'name="(ekspora_[a-z_]+)"', source))
    exported = {m.removesuffix("_bucket") for m in used}
    assert exported <= defined, exported - defined


def test_every_data_file_of_a_service_ships_in_its_image():
    """The image pip-installs each service (not editable): a rubric, rule or template file that no
    package-data pattern names would be missing in production only."""
    import fnmatch
    import tomllib

    for name in SERVICES:
        project = ROOT / "services" / name
        patterns = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["*"]
        package = project / f"ekspora_{name}"
        for path in package.rglob("*"):
            if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts:
                relative = str(path.relative_to(package))
                assert any(fnmatch.fnmatch(relative, p) and relative.count("/") == p.count("/") for p in patterns), (
                    f"{name}: {relative} is not package data"
                )


def test_the_console_calls_each_service_over_http_keeps_its_own_database_and_its_own_bus_login():
    services = compose()["services"]
    console = services["console"]
    environment = console["environment"]
    assert console["command"] == ["python", "-m", "ekspora_console"]
    assert environment["EKSPORA_MONGO_DATABASE"] == "ekspora_console"
    assert environment["EKSPORA_MONGO_DATABASE"] not in {
        services[n]["environment"]["EKSPORA_MONGO_DATABASE"] for n in SERVICES
    }
    for name in SERVICES:
        port = services[name]["environment"]["EKSPORA_HTTP_PORT"]
        assert environment[f"EKSPORA_{name.upper()}_URL"] == f"http://{name}:{port}"
        assert console["depends_on"][name] == {"condition": "service_started"}
    assert environment["EKSPORA_KAFKA_USERNAME"] == "console", "operations only: lag, dead letters, their replay"
    assert environment["EKSPORA_KAFKA_PASSWORD"] == "${EKSPORA_KAFKA_PASSWORD_CONSOLE:?}"
    assert console["depends_on"]["bus-init"] == {"condition": "service_completed_successfully"}
    assert environment["EKSPORA_COOKIE_SECURE"].startswith("${EKSPORA_CONSOLE_COOKIE_SECURE:-true}")
