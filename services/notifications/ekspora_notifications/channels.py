"""Adapters to the outside world: one HTTP provider for WhatsApp and SMS, and SMTP for email."""

import asyncio
import smtplib
from email.message import EmailMessage

import httpx


class SendFailed(Exception):
    """The channel did not take the message; the text says why (kept in the delivery record)."""

    def __init__(self, reason: str, *, retryable: bool = True) -> None:
        super().__init__(reason)
        self.retryable = retryable


class MessagingProvider:
    """WhatsApp and SMS through one provider: POST {base}/v1/messages {channel, to, text}."""

    def __init__(self, base_url: str, token: str, timeout: float = 15) -> None:
        self.client = (
            httpx.AsyncClient(base_url=base_url, timeout=timeout, headers={"Authorization": f"Bearer {token}"})
            if base_url
            else None
        )

    async def send(self, channel: str, to: str, text: str) -> str:
        if self.client is None:
            raise SendFailed("no messaging provider configured", retryable=False)
        try:
            response = await self.client.post("/v1/messages", json={"channel": channel, "to": to, "text": text})
        except httpx.HTTPError as error:
            raise SendFailed(f"{channel} provider unreachable: {error!r}") from error
        if response.status_code >= 300:
            raise SendFailed(f"{channel} provider answered {response.status_code}: {response.text[:200]}")
        return response.json().get("id", "")


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
