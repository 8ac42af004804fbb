"""The AsyncAPI 3 document of Ekspora's Kafka traffic, generated from the five service apps.

    python -m ekspora_ops.asyncapi --write   # rewrites contracts/asyncapi.yaml
    python -m ekspora_ops.asyncapi           # exit 1 when the committed document is stale

Each app declares what it consumes (its subscribers, one consumer group per region) and what it
produces (a publisher per stream, with the CloudEvents schema of its events), so the document
follows the code. It is generated for the reference region kota-kediri: every other region has
the same channels with its own slug in the topic name (see contracts/README.md).
"""

import os
import sys

import yaml
from faststream.specification import AsyncAPI

from ekspora_ops.generated import ROOT, write_or_check

DOCUMENT = ROOT / "contracts" / "asyncapi.yaml"
REFERENCE_REGION = "kota-kediri"


def generate() -> str:
    documented = {  # as deployed: every client signs in over TLS (whatever this shell's login)
        "EKSPORA_REGIONS": REFERENCE_REGION,
        "EKSPORA_KAFKA_BOOTSTRAP": "kafka:9092",
        "EKSPORA_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "EKSPORA_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "EKSPORA_KAFKA_USERNAME": "service",
        "EKSPORA_KAFKA_PASSWORD": "documentation-only",
        "EKSPORA_KAFKA_CA_FILE": "",
    }
    saved = {name: os.environ.get(name) for name in documented}
    os.environ.update(documented)
    try:
        return _generate()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _generate() -> str:
    from ekspora_identity.app import create_app as identity
    from ekspora_identity.settings import IdentitySettings
    from ekspora_matching.app import create_app as matching
    from ekspora_matching.settings import MatchingSettings
    from ekspora_notifications.app import create_app as notifications
    from ekspora_notifications.settings import NotificationsSettings
    from ekspora_registry.app import create_app as registry
    from ekspora_registry.settings import RegistrySettings
    from ekspora_shipping.app import create_app as shipping
    from ekspora_shipping.settings import ShippingSettings

    apps = [
        registry(RegistrySettings()),
        matching(MatchingSettings()),
        shipping(ShippingSettings(carrier_webhook_secret="documentation-only")),
        notifications(NotificationsSettings()),
        identity(IdentitySettings()),
    ]
    specification = AsyncAPI(
        *(app.state.broker for app in apps),
        title="Ekspora events",
        version="1.0.0",
        description=(
            "Kafka topics of the Ekspora platform for region kota-kediri; other regions replace the slug. "
            "Every record value is a CloudEvents 1.0 JSON object (structured mode); the record key is the "
            "event's subject (the aggregate id). Public topics may be read by partner systems; see "
            "contracts/README.md for visibility, ordering, delivery and compatibility rules."
        ),
        schema_version="3.0.0",
    ).to_specification()
    # FastStream keeps publishers in a set: sort, so the same code always gives the same document
    return yaml.safe_dump(specification.to_jsonable(), sort_keys=True, allow_unicode=True, width=100)


def main(argv: list[str]) -> int:
    return write_or_check(
        argv,
        description="Generate or check contracts/asyncapi.yaml",
        module="ekspora_ops.asyncapi",
        render=lambda: {DOCUMENT: generate()},
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
