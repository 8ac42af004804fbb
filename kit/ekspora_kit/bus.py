"""Who may do what on the bus, and how a client proves who it is.

Every client authenticates (SASL/SCRAM-SHA-512; TLS too where the broker is reached over a network)
and the broker's authorizer allows only what is granted here, derived from the topic catalogue:
- a service writes the topics it produces (and its region's dead-letter topic), reads the topics it
  consumes, and joins consumer groups named after itself (`<service>.<region>`);
- a partner system reads the public topics of the regions it buys from, in consumer groups of its
  own (`partner.<partner id>.…`), and writes nothing;
- the monitor (KEDA, the lag exporter) describes the services' consumer groups and topics;
- the console describes them too (consumer lag), reads its regions' dead-letter topics, and writes
  their region topics: replaying a dead letter re-publishes its original bytes where they came from
  (a dead letter from a global topic is replayed by the bus administrator, with ekspora_kit.deadletters);
- nobody else gets anything (no anonymous access, no ACL means no access).
Grants are per region because topic names begin with the region; adding a region provisions its
topics and grants (ekspora_kit.provision).
"""

import ssl
from dataclasses import dataclass
from typing import Any, Literal

from faststream.security import BaseSecurity, SASLPlaintext, SASLScram512
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ekspora_contracts.topics import CATALOGUE, DEAD_LETTER, Stream

SecurityProtocol = Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"]
Operation = Literal["READ", "WRITE", "DESCRIBE"]
ResourceType = Literal["TOPIC", "GROUP"]
PatternType = Literal["LITERAL", "PREFIXED"]
SERVICES = ("registry", "matching", "shipping", "notifications", "identity")
MONITOR = "monitor"
CONSOLE = "console"
Mechanism = Literal["SCRAM-SHA-512", "PLAIN"]
MECHANISM: Mechanism = "SCRAM-SHA-512"


class BusAccess(BaseSettings):
    """Where the broker is and who this client is: EKSPORA_KAFKA_BOOTSTRAP, _USERNAME, _PASSWORD,
    _SECURITY_PROTOCOL (SASL_PLAINTEXT when a username is set), _SASL_MECHANISM, _CA_FILE (for SASL_SSL)."""

    model_config = SettingsConfigDict(env_prefix="EKSPORA_KAFKA_", extra="ignore")

    bootstrap: str = "127.0.0.1:9092"
    username: str = ""
    password: str = Field(default="", repr=False)
    security_protocol: SecurityProtocol | None = None
    sasl_mechanism: Mechanism = MECHANISM
    ca_file: str = ""

    @property
    def protocol(self) -> SecurityProtocol:
        return self.security_protocol or ("SASL_PLAINTEXT" if self.username else "PLAINTEXT")

    def as_user(self, username: str, password: str) -> "BusAccess":
        """The same broker, signed in as another SCRAM principal."""
        protocol = "SASL_SSL" if self.protocol == "SASL_SSL" else "SASL_PLAINTEXT"
        signed_in = {"username": username, "password": password, "sasl_mechanism": MECHANISM}
        return self.model_copy(update=signed_in | {"security_protocol": protocol})

    def _ssl_context(self) -> ssl.SSLContext | None:
        return ssl.create_default_context(cafile=self.ca_file or None) if self.protocol == "SASL_SSL" else None

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's producer, consumer and admin client."""
        options: dict[str, Any] = {"bootstrap_servers": self.bootstrap, "security_protocol": self.protocol}
        if self.protocol != "PLAINTEXT":
            options |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.username,
                "sasl_plain_password": self.password,
                "ssl_context": self._ssl_context(),
            }
        return options

    def broker_security(self) -> BaseSecurity | None:
        """The same, for FastStream's KafkaBroker."""
        if self.protocol == "PLAINTEXT":
            return None
        kind = SASLScram512 if self.sasl_mechanism == MECHANISM else SASLPlaintext
        return kind(self.username, self.password, ssl_context=self._ssl_context(), use_ssl=self.protocol == "SASL_SSL")


@dataclass(frozen=True, order=True)
class Grant:
    principal: str
    resource_type: ResourceType
    pattern: PatternType
    name: str
    operation: Operation


def _topic_grants(principal: str, topic: str, operations: tuple[Operation, ...]) -> list[Grant]:
    return [Grant(principal, "TOPIC", "LITERAL", topic, operation) for operation in operations]


def service_grants(service: str, regions: list[str]) -> list[Grant]:
    """What one service may do on the bus in `regions` (and on the global topics)."""
    principal = f"User:{service}"
    grants = [Grant(principal, "GROUP", "PREFIXED", f"{service}.", "READ")]
    for stream in CATALOGUE:
        for topic in sorted({stream.topic(region) for region in regions}):
            if stream.producer == service:
                grants += _topic_grants(principal, topic, ("WRITE", "DESCRIBE"))
            if service in stream.consumers:
                grants += _topic_grants(principal, topic, ("READ", "DESCRIBE"))
            if stream == DEAD_LETTER:
                grants += _topic_grants(principal, topic, ("WRITE",))
    return sorted(set(grants))


def partner_principal(partner_id: str) -> str:
    return f"partner.{partner_id}"


def partner_grants(partner_id: str, regions: list[str]) -> list[Grant]:
    """A partner system reads the public topics of `regions` in groups of its own; it writes nothing."""
    principal = f"User:{partner_principal(partner_id)}"
    grants = [Grant(principal, "GROUP", "PREFIXED", f"{partner_principal(partner_id)}.", "READ")]
    for stream in public_streams():
        for region in regions:
            grants += _topic_grants(principal, stream.topic(region), ("READ", "DESCRIBE"))
    return grants


def public_streams() -> list[Stream]:
    return [stream for stream in CATALOGUE if stream.visibility == "public"]


def monitor_grants(regions: list[str], principal: str = f"User:{MONITOR}") -> list[Grant]:
    """What reading the consumer groups' lag takes: describing the groups and their topics."""
    groups = [Grant(principal, "GROUP", "PREFIXED", f"{service}.", "DESCRIBE") for service in SERVICES]
    topics = sorted({stream.topic(region) for stream in CATALOGUE for region in regions})
    return groups + [grant for topic in topics for grant in _topic_grants(principal, topic, ("DESCRIBE",))]


def console_grants(regions: list[str]) -> list[Grant]:
    """The console's operations screen: consumer lag, its regions' dead letters, and their replay."""
    principal = f"User:{CONSOLE}"
    grants = monitor_grants(regions, principal)
    for region in regions:
        grants += _topic_grants(principal, DEAD_LETTER.topic(region), ("READ",))
        grants += [
            grant
            for stream in CATALOGUE
            if stream.scope == "region" and stream != DEAD_LETTER
            for grant in _topic_grants(principal, stream.topic(region), ("WRITE",))
        ]
    return sorted(set(grants))


def region_grants(regions: list[str]) -> list[Grant]:
    """Every service's grants for `regions`, the monitor's and the console's: what provisioning a region adds."""
    services = [grant for service in SERVICES for grant in service_grants(service, regions)]
    return services + monitor_grants(regions) + console_grants(regions)
