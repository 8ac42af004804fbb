"""Kubernetes manifests per region, rendered from deploy/kubernetes/regions.yaml.

    python -m ekspora_ops.kubernetes --write   # rewrites deploy/kubernetes/manifests/<region>.yaml
    python -m ekspora_ops.kubernetes           # exit 1 when a committed manifest is stale

A region gets a ConfigMap, and per service a Deployment, a Service and a KEDA ScaledObject on
the lag of its consumer group `<service>.<region>`: a busy region grows, the others do not.
"""

import sys
from pathlib import Path
from typing import Any

import yaml

from ekspora_ops.generated import ROOT, write_or_check

CONFIG = ROOT / "deploy" / "kubernetes" / "regions.yaml"
DIRECTORY = ROOT / "deploy" / "kubernetes" / "manifests"
PARTITIONS = 6


def read_config() -> dict[str, Any]:
    return yaml.safe_load(CONFIG.read_text())


def render_region(config: dict[str, Any], region: str) -> list[dict[str, Any]]:
    namespace, settings = config["namespace"], config["regions"][region] or {}
    config_map = f"ekspora-{region}"
    documents: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": config_map, "namespace": namespace, "labels": {"ekspora.id/region": region}},
            "data": {
                "EKSPORA_REGIONS": region,
                "EKSPORA_KAFKA_BOOTSTRAP": config["kafka_bootstrap"],
                "EKSPORA_KAFKA_REPLICATION_FACTOR": "3",
                "EKSPORA_HTTP_HOST": "0.0.0.0",
                **{k: str(v) for k, v in (settings.get("env") or {}).items()},
            },
        }
    ]
    for service, defaults in config["services"].items():
        spec = defaults | (settings.get("services") or {}).get(service, {})
        if spec["max_replicas"] > PARTITIONS:
            raise ValueError(f"{service} in {region}: more instances than the {PARTITIONS} partitions would idle")
        name = f"{service}-{region}"
        labels = {
            "app.kubernetes.io/name": service,
            "app.kubernetes.io/part-of": "ekspora",
            "ekspora.id/region": region,
        }
        env = [
            {"name": "EKSPORA_HTTP_PORT", "value": str(spec["port"])},
            {"name": "EKSPORA_INSTANCE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "EKSPORA_MONGO_DATABASE", "value": f"ekspora_{service}"},
            {"name": "EKSPORA_MONGO_URL", "valueFrom": {"secretKeyRef": {"name": "ekspora-mongo", "key": "url"}}},
            {
                "name": "EKSPORA_OPERATOR_TOKENS",
                "valueFrom": {"secretKeyRef": {"name": "ekspora-operators", "key": "tokens"}},
            },
        ]
        if service == "shipping":
            env.append(
                {
                    "name": "EKSPORA_CARRIER_WEBHOOK_SECRET",
                    "valueFrom": {"secretKeyRef": {"name": "ekspora-carriers", "key": "secret"}},
                }
            )
        probe = {"httpGet": {"path": "/readyz", "port": spec["port"]}, "periodSeconds": 10, "timeoutSeconds": 5}
        documents += [
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": namespace, "labels": labels},
                "spec": {
                    "replicas": spec["min_replicas"],
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {
                            "labels": labels,
                            "annotations": {
                                "prometheus.io/scrape": "true",
                                "prometheus.io/port": str(spec["port"]),
                                "prometheus.io/path": "/metrics",
                            },
                        },
                        "spec": {
                            "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
                            "terminationGracePeriodSeconds": 30,
                            "containers": [
                                {
                                    "name": service,
                                    "image": config["image"],
                                    "command": ["python", "-m", f"ekspora_{service}"],
                                    "ports": [{"name": "http", "containerPort": spec["port"]}],
                                    "envFrom": [{"configMapRef": {"name": config_map}}],
                                    "env": env,
                                    "readinessProbe": probe,
                                    "livenessProbe": probe
                                    | {"httpGet": {"path": "/healthz", "port": spec["port"]}, "failureThreshold": 6},
                                    "resources": {
                                        "requests": {"cpu": "100m", "memory": "192Mi"},
                                        "limits": {"memory": "512Mi"},
                                    },
                                }
                            ],
                        },
                    },
                },
            },
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": namespace, "labels": labels},
                "spec": {"selector": labels, "ports": [{"name": "http", "port": spec["port"], "targetPort": "http"}]},
            },
            {
                "apiVersion": "keda.sh/v1alpha1",
                "kind": "ScaledObject",
                "metadata": {"name": name, "namespace": namespace, "labels": labels},
                "spec": {
                    "scaleTargetRef": {"name": name},
                    "minReplicaCount": spec["min_replicas"],
                    "maxReplicaCount": spec["max_replicas"],
                    "pollingInterval": 15,
                    "cooldownPeriod": 300,
                    "triggers": [
                        {
                            "type": "kafka",
                            "metadata": {
                                "bootstrapServers": config["kafka_bootstrap"],
                                "consumerGroup": f"{service}.{region}",
                                "lagThreshold": str(spec["lag_per_instance"]),
                                "offsetResetPolicy": "earliest",
                                "allowIdleConsumers": "false",
                            },
                        }
                    ],
                },
            },
        ]
    return documents


def rendered() -> dict[Path, str]:
    config = read_config()
    header = "# Rendered from ../regions.yaml by `python -m ekspora_ops.kubernetes --write`; do not edit.\n"
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": config["namespace"]}}
    files = {DIRECTORY / "namespace.yaml": header + yaml.safe_dump(namespace, sort_keys=False)}
    for region in config["regions"]:
        files[DIRECTORY / f"{region}.yaml"] = header + yaml.safe_dump_all(
            render_region(config, region), sort_keys=False
        )
    return files


def main(argv: list[str]) -> int:
    return write_or_check(
        argv,
        description="Render or check the per-region Kubernetes manifests",
        module="ekspora_ops.kubernetes",
        render=rendered,
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
