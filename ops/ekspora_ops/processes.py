"""Service processes for local runs and integration tests: real `python -m ekspora_<service>` processes.

Each signs in to the bus as itself: the administrator's credentials (in the environment, or in
.local/kafka/credentials.env, which deploy/local/infra.sh writes) hold every service's password,
and a service process is given its own and none of the others.
"""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

SERVICES = (
    "identity",
    "registry",
    "matching",
    "shipping",
    "notifications",
)  # identity first: the others verify its tokens
LOCAL_CREDENTIALS = Path(__file__).resolve().parents[2] / ".local" / "kafka" / "credentials.env"
PASSWORDS = "EKSPORA_KAFKA_PASSWORD"
DEFAULT_PORTS = {"registry": 8101, "matching": 8102, "shipping": 8103, "notifications": 8104, "identity": 8105}


class ServiceFailed(RuntimeError):
    pass


def load_local_bus_credentials() -> None:
    """Signs local tools (tests, benchmarks, the demo) in as the bus administrator, unless the
    environment already says who they are."""
    if os.environ.get("EKSPORA_KAFKA_USERNAME") or not LOCAL_CREDENTIALS.exists():
        return
    for line in LOCAL_CREDENTIALS.read_text().splitlines():
        name, _, value = line.partition("=")
        if name.startswith("EKSPORA_KAFKA_"):
            os.environ.setdefault(name, value)


def service_bus_login(service: str) -> dict[str, str]:
    """The environment that signs `service` in as itself; nothing when the bus is open."""
    password = os.environ.get(f"{PASSWORDS}_{service.upper()}")
    if not password:
        return {}
    return {"EKSPORA_KAFKA_USERNAME": service, PASSWORDS: password, "EKSPORA_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512"}


class ServiceProcess:
    def __init__(self, service: str, *, port: int, log_dir: Path, env: Mapping[str, str], name: str | None = None):
        self.service = service
        self.port = port
        self.name = name or service
        self.log_path = log_dir / f"{self.name}.log"
        inherited = {name: value for name, value in os.environ.items() if not name.startswith(PASSWORDS)}
        self.env = {**inherited, **service_bus_login(service), "EKSPORA_HTTP_PORT": str(port), **env}
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "ServiceProcess":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", f"ekspora_{self.service}"],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait_ready(self, timeout: float = 60) -> "ServiceProcess":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process and self.process.poll() is not None:
                raise ServiceFailed(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=3).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise ServiceFailed(f"{self.name} not ready within {timeout}s:\n{self.log_tail()}")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_exit(self, timeout: float) -> int:
        assert self.process
        return self.process.wait(timeout=timeout)

    def stop(self, timeout: float = 20) -> None:
        if not self.process or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
