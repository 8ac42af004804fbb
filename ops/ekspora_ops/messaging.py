"""Stand-ins for the outside world in local runs: a WhatsApp/SMS provider and an SMTP server that
accept every message and keep it, so the demo can show what UMKM owners were told."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LocalMessaging:
    def __init__(self) -> None:
        self.texts: list[dict] = []
        self.emails: list[bytes] = []
        sink = self

        class Provider(BaseHTTPRequestHandler):
            def do_POST(self):
                sink.texts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"id": "local"}')

            def log_message(self, *args):
                pass

        class Smtp:
            async def handle_DATA(self, server, session, envelope):
                sink.emails.append(envelope.content)
                return "250 OK"

        self.http = ThreadingHTTPServer(("127.0.0.1", _free_port()), Provider)
        self.smtp = Controller(Smtp(), hostname="127.0.0.1", port=_free_port())

    def __enter__(self) -> "LocalMessaging":
        threading.Thread(target=self.http.serve_forever, daemon=True).start()
        self.smtp.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.shutdown()
        self.smtp.stop()

    def env(self) -> dict[str, str]:
        return {
            "EKSPORA_MESSAGING_PROVIDER_URL": f"http://127.0.0.1:{self.http.server_port}",
            "EKSPORA_MESSAGING_PROVIDER_TOKEN": "local",
            "EKSPORA_SMTP_HOST": "127.0.0.1",
            "EKSPORA_SMTP_PORT": str(self.smtp.port),
        }
