"""The AsyncAPI 3 document of Ekspora's Kafka traffic, generated from the four service apps.

    python -m ekspora_ops.asyncapi --write   # rewrites contracts/asyncapi.yaml
    python -m ekspora_ops.asyncapi --check   # exit 1 when the committed document is stale

Each app declares what it consumes (its subscribers, one consumer group per region) and what it
produces (a publisher per stream, with the CloudEvents schema of its events), so the document
follows the code. It is generated for the reference region kota-kediri: every other region has
the same channels with its own slug in the topic name (see contracts/README.md).
"""

import argparse
import os
import sys
from pathlib import Path

import yaml
from faststream.specification import AsyncAPI

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "contracts" / "asyncapi.yaml"
REFERENCE_REGION = "kota-kediri"


def generate() -> str:
    documented = {"EKSPORA_REGIONS": REFERENCE_REGION, "EKSPORA_KAFKA_BOOTSTRAP": "kafka:9092"}
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
    parser = argparse.ArgumentParser(description="Generate or check contracts/asyncapi.yaml")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    document = generate()
    if args.write:
        DOCUMENT.write_text(document)
        print(f"wrote {DOCUMENT.relative_to(ROOT)} ({len(document.splitlines())} lines)")
        return 0
    if args.check:
        if DOCUMENT.read_text() != document:
            print(f"{DOCUMENT.relative_to(ROOT)} is stale: run python -m ekspora_ops.asyncapi --write")
            return 1
        print(f"{DOCUMENT.relative_to(ROOT)} matches the apps")
        return 0
    sys.stdout.write(document)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
