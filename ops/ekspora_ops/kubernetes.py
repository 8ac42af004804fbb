"""Kubernetes manifests per region, rendered from deploy/kubernetes/regions.yaml.

    python -m ekspora_ops.kubernetes --write   # rewrites deploy/kubernetes/manifests/<region>.yaml
    python -m ekspora_ops.kubernetes           # exit 1 when a committed manifest is stale

A region gets a ConfigMap, a Job that provisions its topics and grants on the bus, and per
service a Deployment, a Service and a KEDA ScaledObject on the lag of its consumer group
`<service>.<region>`: a busy region grows, the others do not. Every client signs in to the bus
(SASL_SSL, SCRAM-SHA-512) as itself; the namespace gets the Job that gives the services and the
monitor their logins, and KEDA's TriggerAuthentication.
"""

import sys
from pathlib import Path
from typing import Any

import yaml

from ekspora_ops.generated import ROOT, write_or_check

CONFIG = ROOT / "deploy" / "kubernetes" / "regions.yaml"
DIRECTORY = ROOT / "deploy" / "kubernetes" / "manifests"
PARTITIONS = 6
CA_DIRECTORY = "/etc/ekspora/kafka"
SERVICES = ("registry", "matching", "shipping", "notifications")
# the secret `ekspora-messaging`'s keys, each an EKSPORA_<KEY> setting of notifications
MESSAGING_KEYS = (
    "whatsapp_api_url",
    "whatsapp_phone_number_id",
    "whatsapp_access_token",
    "whatsapp_app_secret",
    "whatsapp_verify_token",
    "report_link_secret",
    "public_url",
    "messaging_provider_url",
    "messaging_provider_token",
    "smtp_host",
    "smtp_port",
)


def secret(name: str, key: str) -> dict[str, Any]:
    return {"valueFrom": {"secretKeyRef": {"name": name, "key": key}}}


def optional(name: str, key: str) -> dict[str, Any]:
    """A key a secret may leave out: the setting then keeps its default (a channel not configured)."""
    return {"name": name, "key": key, "optional": True}


def bus_admin_job(config: dict[str, Any], name: str, arguments: list[str], passwords: list[str]) -> dict[str, Any]:
    """A Job that runs `python -m ekspora_kit.provision <arguments>` as the bus administrator."""
    env = [
        {"name": "EKSPORA_KAFKA_BOOTSTRAP", "value": config["kafka_bootstrap"]},
        {"name": "EKSPORA_KAFKA_SECURITY_PROTOCOL", "value": "SASL_SSL"},
        {"name": "EKSPORA_KAFKA_CA_FILE", "value": f"{CA_DIRECTORY}/ca.crt"},
        {"name": "EKSPORA_KAFKA_SASL_MECHANISM", "value": "PLAIN"},
        {"name": "EKSPORA_KAFKA_USERNAME", "value": "admin"},
        {"name": "EKSPORA_KAFKA_PASSWORD"} | secret("ekspora-kafka-admin", "password"),
        {"name": "EKSPORA_KAFKA_REPLICATION_FACTOR", "value": "3"},
    ] + [
        {"name": f"EKSPORA_KAFKA_PASSWORD_{who.upper()}"} | secret(f"ekspora-kafka-{who}", "password")
        for who in passwords
    ]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": config["namespace"]},
        "spec": {
            "backoffLimit": 10,
            "template": {
                "spec": {
                    "restartPolicy": "OnFailure",
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
                    "containers": [
                        {
                            "name": "provision",
                            "image": config["image"],
                            "command": ["python", "-m", "ekspora_kit.provision", *arguments],
                            "env": env,
                            "volumeMounts": [{"name": "kafka-ca", "mountPath": CA_DIRECTORY, "readOnly": True}],
                        }
                    ],
                    "volumes": [{"name": "kafka-ca", "secret": {"secretName": "ekspora-kafka-ca"}}],
                }
            },
        },
    }


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
                "EKSPORA_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "EKSPORA_KAFKA_CA_FILE": f"{CA_DIRECTORY}/ca.crt",
                "EKSPORA_KAFKA_REPLICATION_FACTOR": "3",
                "EKSPORA_HTTP_HOST": "0.0.0.0",
                **{k: str(v) for k, v in (settings.get("env") or {}).items()},
            },
        },
        bus_admin_job(config, f"bus-provision-{region}", ["region", region], []),
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
            {"name": "EKSPORA_KAFKA_USERNAME", "value": service},
            {"name": "EKSPORA_KAFKA_PASSWORD"} | secret(f"ekspora-kafka-{service}", "password"),
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
        if service == "notifications":  # the providers owners and partners are reached by
            env += [
                {"name": f"EKSPORA_{key.upper()}", "valueFrom": {"secretKeyRef": optional("ekspora-messaging", key)}}
                for key in MESSAGING_KEYS
            ]
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
                                    "volumeMounts": [{"name": "kafka-ca", "mountPath": CA_DIRECTORY, "readOnly": True}],
                                    "readinessProbe": probe,
                                    "livenessProbe": probe
                                    | {"httpGet": {"path": "/healthz", "port": spec["port"]}, "failureThreshold": 6},
                                    "resources": {
                                        "requests": {"cpu": "100m", "memory": "192Mi"},
                                        "limits": {"memory": "512Mi"},
                                    },
                                }
                            ],
                            "volumes": [{"name": "kafka-ca", "secret": {"secretName": "ekspora-kafka-ca"}}],
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
                            "authenticationRef": {"name": "ekspora-kafka-monitor"},
                        }
                    ],
                },
            },
        ]
    return documents


def identity(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The identity service, one for every region: it issues partners' keys and the tokens every
    service verifies (with the public key it publishes on the bus)."""
    namespace, port = config["namespace"], 8105
    env = [
        {"name": "EKSPORA_REGIONS", "value": next(iter(config["regions"]))},
        {"name": "EKSPORA_HTTP_HOST", "value": "0.0.0.0"},
        {"name": "EKSPORA_HTTP_PORT", "value": str(port)},
        {"name": "EKSPORA_INSTANCE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "EKSPORA_MONGO_DATABASE", "value": "ekspora_identity"},
        {"name": "EKSPORA_MONGO_URL"} | secret("ekspora-mongo", "url"),
        {"name": "EKSPORA_OPERATOR_TOKENS"} | secret("ekspora-operators", "tokens"),
        *bus_login(config, "identity"),
        {"name": "EKSPORA_SIGNING_KEY_PEM"} | secret("ekspora-identity-signing-key", "pem"),
    ]
    return one_for_all_regions("identity", namespace, port, bus_client_pod("identity", config, port, env, "384Mi"))


def one_for_all_regions(name: str, namespace: str, port: int, pod: dict[str, Any]) -> list[dict[str, Any]]:
    """A Deployment of two replicas serving every region, and its Service."""
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "ekspora"}
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": pod},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"selector": labels, "ports": [{"name": "http", "port": port, "targetPort": "http"}]},
        },
    ]


def console(config: dict[str, Any]) -> list[dict[str, Any]]:
    """The console, one for every region: it calls each region's instances by their Service name."""
    namespace, port = config["namespace"], 8110
    ports = {service: spec["port"] for service, spec in config["services"].items()}
    env: list[dict[str, Any]] = [
        {"name": "EKSPORA_HTTP_HOST", "value": "0.0.0.0"},
        {"name": "EKSPORA_HTTP_PORT", "value": str(port)},
        {"name": "EKSPORA_INSTANCE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "EKSPORA_MONGO_DATABASE", "value": "ekspora_console"},
        {"name": "EKSPORA_MONGO_URL"} | secret("ekspora-mongo", "url"),
        {"name": "EKSPORA_IDENTITY_URL", "value": f"http://identity.{namespace}.svc:8105"},
        *(
            {"name": f"EKSPORA_{service.upper()}_URL", "value": f"http://{service}-{{region}}.{namespace}.svc:{port_}"}
            for service, port_ in ports.items()
        ),
        {"name": "EKSPORA_DEFAULT_REGION", "value": next(iter(config["regions"]))},
        {"name": "EKSPORA_COOKIE_SECURE", "value": "true"},
        *bus_login(config, "console"),  # the operations screen: lag, dead letters and their replay
    ]
    return one_for_all_regions("console", namespace, port, bus_client_pod("console", config, port, env, "256Mi"))


def bus_login(config: dict[str, Any], who: str) -> list[dict[str, Any]]:
    return [
        {"name": "EKSPORA_KAFKA_BOOTSTRAP", "value": config["kafka_bootstrap"]},
        {"name": "EKSPORA_KAFKA_SECURITY_PROTOCOL", "value": "SASL_SSL"},
        {"name": "EKSPORA_KAFKA_CA_FILE", "value": f"{CA_DIRECTORY}/ca.crt"},
        {"name": "EKSPORA_KAFKA_USERNAME", "value": who},
        {"name": "EKSPORA_KAFKA_PASSWORD"} | secret(f"ekspora-kafka-{who}", "password"),
    ]


def bus_client_pod(
    app: str, config: dict[str, Any], port: int, env: list[dict[str, Any]], memory: str
) -> dict[str, Any]:
    """The pod of an app that serves every region and signs in to the bus (identity, the console)."""
    probe = {"httpGet": {"path": "/readyz", "port": port}, "periodSeconds": 10, "timeoutSeconds": 5}
    container = {
        "name": app,
        "image": config["image"],
        "command": ["python", "-m", f"ekspora_{app}"],
        "ports": [{"name": "http", "containerPort": port}],
        "env": env,
        "volumeMounts": [{"name": "kafka-ca", "mountPath": CA_DIRECTORY, "readOnly": True}],
        "readinessProbe": probe,
        "livenessProbe": probe | {"httpGet": {"path": "/healthz", "port": port}, "failureThreshold": 6},
        "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": memory}},
    }
    return {
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
        "containers": [container],
        "volumes": [{"name": "kafka-ca", "secret": {"secretName": "ekspora-kafka-ca"}}],
    }


def rendered() -> dict[Path, str]:
    config = read_config()
    header = "# Rendered from ../regions.yaml by `python -m ekspora_ops.kubernetes --write`; do not edit.\n"
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": config["namespace"]}}
    logins = bus_admin_job(config, "bus-logins", ["services"], [*SERVICES, "identity", "monitor", "console"])
    keda = {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "TriggerAuthentication",
        "metadata": {"name": "ekspora-kafka-monitor", "namespace": config["namespace"]},
        "spec": {
            "secretTargetRef": [
                {"parameter": parameter, "name": "ekspora-kafka-monitor", "key": key}
                for parameter, key in (("sasl", "sasl"), ("username", "username"), ("password", "password"))
            ]
            + [{"parameter": "tls", "name": "ekspora-kafka-monitor", "key": "tls"}]
            + [{"parameter": "ca", "name": "ekspora-kafka-ca", "key": "ca.crt"}]
        },
    }
    documents = [namespace, logins, keda, *identity(config), *console(config)]
    files = {DIRECTORY / "namespace.yaml": header + yaml.safe_dump_all(documents, sort_keys=False)}
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
