"""Adapters to the outside world: WhatsApp through Meta's Cloud API (or, where none is configured,
the same HTTP provider as SMS), SMS through that provider, SMTP for email, and partner webhook
endpoints."""

import asyncio
import ipaddress
import smtplib
import socket
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from typing import NamedTuple
from urllib.parse import urlsplit

import httpx

from ekspora_notifications.webhooks import unsafe_addresses, url_problem


class SendFailed(Exception):
    """The channel did not take the message; the text says why (kept in the delivery record)."""

    def __init__(self, reason: str, *, retryable: bool = True, maybe_taken: bool = False) -> None:
        super().__init__(reason)
        self.retryable = retryable
        self.maybe_taken = maybe_taken  # the request may have reached the provider: ask before sending again


class MessagingProvider:
    """WhatsApp and SMS through one provider: POST {base}/v1/messages {channel, to, text, reference}.

    The provider keeps our reference with the message and answers GET /v1/messages?reference=… (200
    with its id, 404 when it took none), as gateways that accept a client's message id do. That
    lookup is what lets a send whose answer was lost, or whose process died, be settled without
    sending twice or losing it. (Meta's Cloud API directly has no such lookup: there the same
    answer comes from its status webhooks, which carry `biz_opaque_callback_data`.)
    """

    def __init__(self, base_url: str, token: str, timeout: float = 15) -> None:
        self.client = (
            httpx.AsyncClient(base_url=base_url, timeout=timeout, headers={"Authorization": f"Bearer {token}"})
            if base_url
            else None
        )

    async def send(self, channel: str, to: str, text: str, reference: str) -> str:
        client = self._client(channel)
        try:
            response = await client.post(
                "/v1/messages", json={"channel": channel, "to": to, "text": text, "reference": reference}
            )
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:  # nothing reached the provider
            raise SendFailed(f"{channel} provider unreachable: {error!r}") from error
        except httpx.HTTPError as error:
            raise SendFailed(f"{channel} provider gave no answer: {error!r}", maybe_taken=True) from error
        if response.status_code >= 300:
            raise SendFailed(f"{channel} provider answered {response.status_code}: {response.text[:200]}")
        return str(response.json().get("id", ""))

    async def taken(self, channel: str, reference: str) -> str | None:
        """The provider's id of the message it took with `reference`, or None when it took none."""
        client = self._client(channel)
        try:
            response = await client.get("/v1/messages", params={"reference": reference})
        except httpx.HTTPError as error:
            raise SendFailed(f"{channel} provider unreachable: {error!r}") from error
        if response.status_code == 404:
            return None
        if response.status_code >= 300:
            raise SendFailed(f"{channel} provider answered {response.status_code}: {response.text[:200]}")
        return str(response.json().get("id", ""))

    def _client(self, channel: str) -> httpx.AsyncClient:
        if self.client is None:
            raise SendFailed(f"no {channel} provider configured", retryable=False)
        return self.client


class OutsideWindow(SendFailed):
    """The Cloud API refused a free-form message: the owner has not written in the last 24 hours
    (error 131047); only a template may go."""


# the Cloud API's errors worth trying again: throttling and its own temporary failures
RETRYABLE_CLOUD_ERRORS = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131056, 133004})
OUTSIDE_WINDOW_ERROR = 131047


class WhatsAppCloud:
    """WhatsApp through Meta's Cloud API: POST {base}/{phone number id}/messages with
    `messaging_product`, `to` (digits, no +), `type` and its object (text, interactive, template).
    Our delivery key travels as `biz_opaque_callback_data` and comes back in the status webhooks:
    the Cloud API has no lookup of what it took, so a send whose answer was lost is settled from
    those statuses."""

    def __init__(self, base_url: str, phone_number_id: str, token: str, timeout: float = 15) -> None:
        self.path = f"/{phone_number_id}/messages"
        self.client = httpx.AsyncClient(
            base_url=base_url, timeout=timeout, headers={"Authorization": f"Bearer {token}"}
        )

    async def send(self, to: str, content: dict, reference: str) -> str:
        """The message id (wamid) the Cloud API gave the message."""
        body = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to.removeprefix("+"),
            "biz_opaque_callback_data": reference,
            **content,
        }
        try:
            response = await self.client.post(self.path, json=body)
        except (httpx.ConnectError, httpx.ConnectTimeout) as error:
            raise SendFailed(f"WhatsApp Cloud API unreachable: {error!r}") from error
        except httpx.HTTPError as error:
            raise SendFailed(f"WhatsApp Cloud API gave no answer: {error!r}", maybe_taken=True) from error
        if response.status_code < 300:
            return str(response.json()["messages"][0]["id"])
        try:
            refusal = response.json().get("error", {})
        except ValueError:
            refusal = {}
        code, said = refusal.get("code"), refusal.get("message", response.text[:200])
        reason = f"WhatsApp Cloud API answered {response.status_code}, error {code}: {said}"
        if code == OUTSIDE_WINDOW_ERROR:
            raise OutsideWindow(reason, retryable=False)
        raise SendFailed(reason, retryable=response.status_code >= 500 or code in RETRYABLE_CLOUD_ERRORS)


class Mailer:
    def __init__(self, host: str, port: int, sender: str) -> None:
        self.host, self.port, self.sender = host, port, sender

    async def send(self, to: str, subject: str, text: str) -> str:
        if not self.host:
            raise SendFailed("no SMTP server configured", retryable=False)
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, to, subject
        message.set_content(text)
        try:
            await asyncio.to_thread(self._send, message)
        except (OSError, smtplib.SMTPException) as error:
            raise SendFailed(f"email not accepted: {error!r}") from error
        return message["Message-ID"] or ""

    def _send(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=15) as smtp:
            smtp.send_message(message)


class UnsafeUrl(Exception):
    """The endpoint URL may not be called: it reaches, or resolves to, a non-public address."""


async def resolve(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


class WebhookAttempt(NamedTuple):
    status: int | None
    retry_after: str | None
    error: str
    address: str


class WebhookSender:
    """POSTs deliveries to partner endpoints without being turned against the platform (SSRF).

    The host is resolved here and *every* address checked; the connection then goes to the
    checked address (the Host header and TLS name stay the partner's), so a DNS answer that
    changes between check and connect cannot redirect it. Redirects are never followed."""

    def __init__(
        self,
        *,
        allow_loopback: bool,
        timeout: float,
        resolver: Callable[[str, int], Awaitable[list[str]]] = resolve,
    ) -> None:
        self.allow_loopback, self.resolver = allow_loopback, resolver
        self.client = httpx.AsyncClient(follow_redirects=False, timeout=timeout)

    async def checked_address(self, url: str) -> str:
        if problem := url_problem(url):
            raise UnsafeUrl(problem)
        parts = urlsplit(url)
        host = parts.hostname or ""
        try:
            ipaddress.ip_address(host)
            addresses = [host]
        except ValueError:
            try:
                addresses = await self.resolver(host, parts.port or (443 if parts.scheme == "https" else 80))
            except OSError as error:
                raise UnsafeUrl(f"{host} does not resolve: {error.strerror or error}") from error
        if problem := unsafe_addresses(host, addresses, allow_loopback=self.allow_loopback):
            raise UnsafeUrl(problem)
        return addresses[0]

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> WebhookAttempt:
        try:
            address = await self.checked_address(url)
        except UnsafeUrl as error:
            return WebhookAttempt(None, None, str(error), "")
        parts = urlsplit(url)
        literal = f"[{address}]" if ":" in address else address
        pinned = parts._replace(netloc=f"{literal}:{parts.port}" if parts.port else literal).geturl()
        extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
        try:
            response = await self.client.post(
                pinned, content=body, headers={**headers, "host": parts.netloc}, extensions=extensions
            )
        except httpx.HTTPError as error:
            return WebhookAttempt(None, None, f"{type(error).__name__}: {error}", address)
        return WebhookAttempt(response.status_code, response.headers.get("retry-after"), response.text[:300], address)
