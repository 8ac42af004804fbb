"""A stand-in for Meta's WhatsApp Cloud API, for the demo and the tests: it checks every request's
shape as the Cloud API documents it, answers as the Cloud API does, and posts signed webhooks back.

Reproduced: `POST /{version}/{phone number id}/messages` with a bearer token (190 when wrong);
`messaging_product`, `to` as digits, and `text` (at most 4,096 characters), `interactive` reply
buttons (one to three, ids up to 256 characters, titles up to 20, all distinct; body up to 1,024)
or `template` (a registered name and language, as many body parameters as it has, none empty or
with new lines, quick-reply payloads); a bad shape is error 100. A free-form message to a user
who has not written in the last 24 hours is refused with 131047, as the real API does. Each
message taken gets a `wamid.` id, then `sent` and `delivered` statuses (or `failed` with 131026
for a number set to fail) posted to the webhook with `biz_opaque_callback_data`, signed with the
app secret in X-Hub-Signature-256. Users' messages are posted the same way (`writes`).

Not reproduced: media, lists, location and other message types, `read` statuses, pricing and
conversation objects, rate limits, template review and quality ratings, and user ids without a
phone number on outgoing messages (the users' messages here may carry one)."""

import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml

from ekspora_kit.clock import Clock

TEMPLATES_FILE = (
    Path(__file__).resolve().parents[2] / "services/notifications/ekspora_notifications/data/whatsapp_templates.yaml"
)
WINDOW = timedelta(hours=24)
PHONE_NUMBER_ID = "106540352242922"
VERSION = "v23.0"


class Refused(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _check(condition: bool, detail: str) -> None:
    if not condition:
        raise Refused(400, 100, f"(#100) Invalid parameter: {detail}")


class LocalCloudApi:
    def __init__(self, *, app_secret: str, token: str, clock: Clock, free_port: Callable[[], int]) -> None:
        self.app_secret, self.token, self.clock = app_secret, token, clock
        registered = yaml.safe_load(TEMPLATES_FILE.read_text())["templates"].values()
        self.templates = {spec["name"]: spec for spec in registered}
        self.taken: list[dict] = []  # every message taken, with its wamid
        self.refused: list[tuple[dict, int]] = []
        self.failing: set[str] = set()  # numbers whose messages are taken, then reported failed
        self.last_from: dict[str, datetime] = {}  # digits -> when that user last wrote
        self.webhook_url = ""
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, answer = api._answer(self.path, self.headers.get("Authorization", ""), body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(json.dumps(answer).encode())

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/{VERSION}"

    def start(self) -> "LocalCloudApi":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()

    def __enter__(self) -> "LocalCloudApi":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def env(self, verify_token: str = "local-verify-token") -> dict[str, str]:
        """What notifications needs to use this stand-in."""
        return {
            "EKSPORA_WHATSAPP_API_URL": self.url,
            "EKSPORA_WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "EKSPORA_WHATSAPP_ACCESS_TOKEN": self.token,
            "EKSPORA_WHATSAPP_APP_SECRET": self.app_secret,
            "EKSPORA_WHATSAPP_VERIFY_TOKEN": verify_token,
        }

    def sent_to(self, phone: str) -> list[dict]:
        digits = phone.removeprefix("+")
        with self._lock:
            return [message for message in self.taken if message["to"] == digits]

    def writes(self, phone: str | None, text: str | None = None, **shape: str | None) -> tuple[int, str]:
        """A user's message posted, signed, to the webhook (see `user_message`, which takes `shape`:
        a button, a quick reply, a user id); (the webhook's status, the message's id)."""
        message_id = f"wamid.{uuid.uuid4().hex}"
        return self.post_signed(self.user_message(phone, text, message_id=message_id, **shape)), message_id

    def user_message(
        self,
        phone: str | None,
        text: str | None = None,
        *,
        button: str | None = None,
        quick_reply: str | None = None,
        user_id: str | None = None,
        message_id: str,
    ) -> bytes:
        """The webhook body of a user's message as the Cloud API posts it: text, a tap on a reply
        button with that id, or on a template's quick reply with that payload; from a phone number
        (which opens its 24-hour window), a business-scoped user id, or both."""
        message: dict[str, Any] = {"id": message_id, "timestamp": str(int(self.clock.now().timestamp()))}
        if quick_reply is not None:
            message |= {"type": "button", "button": {"payload": quick_reply, "text": text or quick_reply}}
        elif button is not None:
            reply = {"id": button, "title": text or button}
            message |= {"type": "interactive", "interactive": {"type": "button_reply", "button_reply": reply}}
        else:
            message |= {"type": "text", "text": {"body": text or ""}}
        contact: dict[str, Any] = {"profile": {"name": "WhatsApp user"}}
        if phone:
            digits = phone.removeprefix("+")
            message["from"] = contact["wa_id"] = digits
            with self._lock:
                self.last_from[digits] = self.clock.now()
        if user_id:
            message["from_user_id"] = contact["user_id"] = user_id
        return self._body({"contacts": [contact], "messages": [message]})

    def post(self, value: dict) -> int:
        """Posts one change of the `messages` field, signed, to the webhook; its status."""
        return self.post_signed(self._body(value))

    def signature(self, body: bytes) -> str:
        return "sha256=" + hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()

    def post_signed(self, body: bytes) -> int:
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": self.signature(body)}
        return httpx.post(self.webhook_url, content=body, headers=headers, timeout=15).status_code

    @staticmethod
    def _body(value: dict) -> bytes:
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "6281100000000", "phone_number_id": PHONE_NUMBER_ID},
            **value,
        }
        change = {"field": "messages", "value": value}
        entry = {"id": "waba-ekspora", "changes": [change]}
        return json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()

    def _answer(self, path: str, authorization: str, body: bytes) -> tuple[int, dict]:
        try:
            if authorization != f"Bearer {self.token}":
                raise Refused(401, 190, "Invalid OAuth access token - Cannot parse access token")
            _check(path == f"/{VERSION}/{PHONE_NUMBER_ID}/messages", f"no such edge {path}")
            try:
                request = json.loads(body)
            except ValueError:
                raise Refused(400, 100, "(#100) The parameter body is not JSON") from None
            self._check_shape(request)
        except Refused as refused:
            with self._lock:
                self.refused.append(({"path": path}, refused.code))
            error = {"message": refused.message, "type": "OAuthException", "code": refused.code, "fbtrace_id": "local"}
            return refused.status, {"error": error}
        wamid = f"wamid.{uuid.uuid4().hex}"
        with self._lock:
            self.taken.append(request | {"wamid": wamid})
        failing = request["to"] in self.failing  # as the message was taken
        threading.Thread(target=self._report, args=(request, wamid, failing), daemon=True).start()
        answer: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "contacts": [{"input": request["to"], "wa_id": request["to"]}],
        }
        answer["messages"] = [{"id": wamid} | ({"message_status": "accepted"} if request["type"] == "template" else {})]
        return 200, answer

    def _check_shape(self, request: dict) -> None:
        _check(request.get("messaging_product") == "whatsapp", "messaging_product must be whatsapp")
        to = request.get("to", "")
        _check(isinstance(to, str) and re.fullmatch(r"\d{6,15}", to) is not None, "to must be a phone number")
        _check(len(request.get("biz_opaque_callback_data", "")) <= 512, "biz_opaque_callback_data is too long")
        kind = request.get("type")
        if kind == "text":
            text = request.get("text", {}).get("body", "")
            _check(0 < len(text) <= 4096, "text.body must have 1 to 4096 characters")
        elif kind == "interactive":
            self._check_interactive(request.get("interactive", {}))
        elif kind == "template":
            self._check_template(request.get("template", {}))
            return  # templates may go outside the window
        else:
            _check(False, f"type {kind} is not one this stand-in takes")
        with self._lock:
            last = self.last_from.get(to)
        if last is None or self.clock.now() - last >= WINDOW:
            raise Refused(
                400, 131047, "Re-engagement message: more than 24 hours have passed since the recipient last replied"
            )

    @staticmethod
    def _check_interactive(interactive: dict) -> None:
        _check(interactive.get("type") == "button", "interactive.type must be button")
        _check(
            0 < len(interactive.get("body", {}).get("text", "")) <= 1024, "interactive.body.text: 1 to 1024 characters"
        )
        buttons = interactive.get("action", {}).get("buttons", [])
        _check(1 <= len(buttons) <= 3, "1 to 3 buttons")
        replies = [button.get("reply", {}) for button in buttons]
        _check(all(button.get("type") == "reply" for button in buttons), "buttons must be of type reply")
        _check(all(0 < len(r.get("id", "")) <= 256 for r in replies), "a button id has 1 to 256 characters")
        _check(all(0 < len(r.get("title", "")) <= 20 for r in replies), "a button title has 1 to 20 characters")
        _check(len({r["id"] for r in replies}) == len(replies), "button ids must be distinct")
        _check(len({r["title"] for r in replies}) == len(replies), "button titles must be distinct")

    def _check_template(self, template: dict) -> None:
        spec = self.templates.get(template.get("name", ""))
        if spec is None:
            raise Refused(
                404, 132001, f"(#132001) Template name does not exist in the translation: {template.get('name')}"
            )
        code = template.get("language", {}).get("code")
        if code not in spec["languages"]:
            raise Refused(404, 132001, f"(#132001) Template {spec['name']} does not exist in {code}")
        components = template.get("components", [])
        bodies = [c for c in components if c.get("type") == "body"]
        _check(len(bodies) == 1, "one body component")
        parameters = bodies[0].get("parameters", [])
        if len(parameters) != len(spec["parameters"]):
            raise Refused(
                400, 132000, f"(#132000) Number of parameters does not match the expected number: {spec['name']}"
            )
        for parameter in parameters:
            text = parameter.get("text", "")
            _check(parameter.get("type") == "text" and text.strip(), "a body parameter is non-empty text")
            _check(not re.search(r"[\n\t]| {5,}", text), "a parameter may not have new lines, tabs or 5 spaces")
        buttons = [c for c in components if c.get("type") == "button"]
        _check(len(buttons) <= len(spec.get("buttons", [])), "more buttons than the template has")
        for button in buttons:
            _check(button.get("sub_type") == "quick_reply", "buttons are quick replies")
            _check(len(button.get("parameters", [{}])[0].get("payload", "")) > 0, "a quick reply has a payload")

    def _report(self, request: dict, wamid: str, failing: bool) -> None:
        """The statuses the Cloud API posts after taking a message."""
        time.sleep(0.2)
        if not self.webhook_url:
            return
        for status in ("sent", "failed") if failing else ("sent", "delivered"):
            reported: dict[str, Any] = {
                "id": wamid,
                "status": status,
                "timestamp": str(int(self.clock.now().timestamp())),
                "recipient_id": request["to"],
            }
            if "biz_opaque_callback_data" in request:
                reported["biz_opaque_callback_data"] = request["biz_opaque_callback_data"]
            if status == "failed":
                reported["errors"] = [{"code": 131026, "title": "Message undeliverable"}]
            try:
                self.post({"statuses": [reported]})
            except httpx.HTTPError:
                return
