"""Stand-ins for the outside world in local runs: a WhatsApp/SMS provider, an SMTP server and the
partners' webhook endpoints, which accept everything and keep it, so the demo can show who was
told what."""

import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller

from ekspora_kit.clock import Clock

CLOCK = Clock.from_environment()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class WebhookCall:
    partner: str
    received_at: float
    headers: dict[str, str]
    body: bytes


class LocalMessaging:
    """The provider keeps each text's reference and answers lookups by it, as
    ekspora_notifications.channels.MessagingProvider expects; a text sent twice is kept twice."""

    def __init__(self) -> None:
        self.texts: list[dict] = []
        self.emails: list[bytes] = []
        self.webhooks: list[WebhookCall] = []
        sink = self

        class Provider(BaseHTTPRequestHandler):
            def do_GET(self):
                reference = parse_qs(urlsplit(self.path).query).get("reference", [""])[0]
                taken = any(text.get("reference") == reference for text in list(sink.texts))
                self.send_response(200 if taken else 404)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(
                    json.dumps({"id": f"local-{reference}"} if taken else {"error": "no such message"}).encode()
                )

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path.startswith("/hooks/"):  # a partner system's webhook endpoint
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    sink.webhooks.append(
                        WebhookCall(self.path.removeprefix("/hooks/"), CLOCK.now().timestamp(), headers, body)
                    )
                    self.send_response(204)
                    self.end_headers()
                    return
                text = json.loads(body)
                sink.texts.append(text)
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps({"id": f"local-{text.get('reference', '')}"}).encode())

            def log_message(self, *args):
                pass

        class Smtp:
            async def handle_DATA(self, server, session, envelope):
                sink.emails.append(envelope.content)
                return "250 OK"

        self.http = ThreadingHTTPServer(("127.0.0.1", free_port()), Provider)
        self.smtp = Controller(Smtp(), hostname="127.0.0.1", port=free_port())

    def __enter__(self) -> "LocalMessaging":
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.smtp.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.shutdown()
        self.smtp.stop()

    def webhook_url(self, partner_id: str) -> str:
        return f"http://127.0.0.1:{self.http.server_port}/hooks/{partner_id}"

    def env(self) -> dict[str, str]:
        return {
            "EKSPORA_MESSAGING_PROVIDER_URL": f"http://127.0.0.1:{self.http.server_port}",
            "EKSPORA_MESSAGING_PROVIDER_TOKEN": "local",
            "EKSPORA_SMTP_HOST": "127.0.0.1",
            "EKSPORA_SMTP_PORT": str(self.smtp.port),
            "EKSPORA_WEBHOOK_ALLOW_LOOPBACK": "true",  # the partners' endpoints are stand-ins on this machine
        }
