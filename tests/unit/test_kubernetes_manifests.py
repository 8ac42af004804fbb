"""Kubernetes manifests: one Deployment per service per region, each scaled by KEDA on the lag of
its own region's consumer group, configured per region; a new region is configuration only."""

import copy
from collections import Counter

import pytest
import yaml

from ekspora_ops.kubernetes import DIRECTORY, read_config, render_region, rendered

SERVICES = ("registry", "matching", "shipping", "notifications")


def manifests() -> list[dict]:
    return [d for path in sorted(DIRECTORY.glob("*.yaml")) for d in yaml.safe_load_all(path.read_text()) if d]


def test_the_committed_manifests_are_what_regions_yaml_renders():
    for path, text in rendered().items():
        assert path.read_text() == text, f"{path.name} is stale: run python -m ekspora_ops.kubernetes --write"


def test_every_region_has_each_service_deployed_and_scaled_on_its_own_consumer_group():
    documents = manifests()
    regions = set(read_config()["regions"])
    assert regions == {"kota-kediri", "kabupaten-kediri", "blitar"}
    kinds = Counter(d["kind"] for d in documents)
    assert kinds == {
        "Namespace": 1,
        "ConfigMap": 3,
        "Deployment": 14,  # four services in each of three regions, and identity and the console for all of them
        "Service": 14,
        "ScaledObject": 12,
        "Job": 4,  # the bus logins once, and each region's topics and grants
        "TriggerAuthentication": 1,
    }
    jobs = {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]["containers"][0]["command"]
        for d in documents
        if d["kind"] == "Job"
    }
    assert jobs["bus-logins"] == ["python", "-m", "ekspora_kit.provision", "services"]
    deployments = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"}
    scalers = {d["metadata"]["name"]: d for d in documents if d["kind"] == "ScaledObject"}
    configs = {d["metadata"]["name"]: d for d in documents if d["kind"] == "ConfigMap"}
    for region in regions:
        assert configs[f"ekspora-{region}"]["data"]["EKSPORA_REGIONS"] == region, (
            "each region's instances serve it alone"
        )
        for service in SERVICES:
            name = f"{service}-{region}"
            container = deployments[name]["spec"]["template"]["spec"]["containers"][0]
            assert container["command"] == ["python", "-m", f"ekspora_{service}"]
            assert container["envFrom"] == [{"configMapRef": {"name": f"ekspora-{region}"}}]
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            logins = {
                e["name"]: e.get("value") or e["valueFrom"].get("secretKeyRef", {}).get("name")
                for e in container["env"]
            }
            assert (logins["EKSPORA_KAFKA_USERNAME"], logins["EKSPORA_KAFKA_PASSWORD"]) == (
                service,
                f"ekspora-kafka-{service}",
            ), "each service signs in to the bus as itself"
            assert jobs[f"bus-provision-{region}"][-2:] == ["region", region]
            scaler = scalers[name]["spec"]
            assert scaler["scaleTargetRef"] == {"name": name}
            [trigger] = scaler["triggers"]
            assert trigger["type"] == "kafka" and trigger["metadata"]["consumerGroup"] == f"{service}.{region}"
            assert trigger["authenticationRef"] == {"name": "ekspora-kafka-monitor"}
            assert 1 <= scaler["minReplicaCount"] <= scaler["maxReplicaCount"] <= 6


def test_per_region_settings_override_the_defaults():
    documents = manifests()
    scalers = {d["metadata"]["name"]: d["spec"] for d in documents if d["kind"] == "ScaledObject"}
    assert scalers["notifications-kota-kediri"]["triggers"][0]["metadata"]["lagThreshold"] == "30"
    assert scalers["notifications-blitar"]["triggers"][0]["metadata"]["lagThreshold"] == "50"
    assert scalers["registry-blitar"]["maxReplicaCount"] == 3


def test_secrets_are_referenced_never_written():
    text = "\n".join(p.read_text() for p in DIRECTORY.glob("*.yaml"))
    assert "secretKeyRef" in text and "kind: Secret" not in text


def test_a_new_region_is_one_line_of_configuration():
    config = copy.deepcopy(read_config())
    config["regions"]["kabupaten-malang"] = None
    documents = render_region(config, "kabupaten-malang")
    names = {d["metadata"]["name"] for d in documents if d["kind"] == "Deployment"}
    assert names == {f"{service}-kabupaten-malang" for service in SERVICES}


def test_more_instances_than_partitions_is_refused():
    config = copy.deepcopy(read_config())
    config["regions"]["blitar"] = {"services": {"matching": {"max_replicas": 12}}}
    with pytest.raises(ValueError, match="partitions"):
        render_region(config, "blitar")
