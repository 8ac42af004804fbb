from datetime import time
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from ekspora_kit.settings import ServiceSettings

STANDARD_WEBHOOKS_SCHEDULE = [0.0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]


class NotificationsSettings(ServiceSettings):
    service: str = "notifications"
    http_port: int = 8104
    messaging_provider_url: str = Field(default="", description="Base URL of the WhatsApp/SMS provider's HTTP API")
    messaging_provider_token: str = Field(default="", description="Bearer credential for the provider")
    whatsapp_api_url: str = Field(
        default="",
        description="The WhatsApp Cloud API's base URL with its version (https://graph.facebook.com/v23.0); unset,"
        " WhatsApp goes through the messaging provider like SMS",
    )
    whatsapp_phone_number_id: str = Field(default="", description="The business phone number's id in the Cloud API")
    whatsapp_access_token: str = Field(default="", description="The system user's token for the Cloud API")
    whatsapp_app_secret: str = Field(
        default="", description="The Meta app's secret that signs WhatsApp webhook posts; unset, every post is refused"
    )
    whatsapp_verify_token: str = Field(
        default="", description="The token Meta's webhook subscription handshake must present"
    )
    report_link_secret: str = Field(
        default="", description="Signs the readiness report links owners get by WhatsApp; unset, no link is sent"
    )
    report_link_days: int = Field(default=7, ge=1, le=90, description="How long a report link works")
    public_url: str = Field(
        default="", description="Where owners' phones reach this service (report links); unset, http://127.0.0.1:<port>"
    )
    smtp_host: str = Field(default="", description="SMTP server for email; unset, email is not sent")
    smtp_port: int = 25
    smtp_sender: str = "Ekspora <noreply@ekspora.id>"
    send_attempts: int = Field(default=3, ge=1, description="Tries per channel before falling back")
    send_backoff_seconds: float = Field(default=0.5, ge=0)
    unconfirmed_after_seconds: float = Field(
        default=120,
        gt=0,
        description="A text still without the provider's answer after this long lost its process: it is settled."
        " Longer than any live send takes (attempts × the provider's 15 s timeout, plus backoff)",
    )
    unconfirmed_check_seconds: float = Field(default=30, gt=0)
    default_quiet_hours: str = Field(
        default="21:00-06:00",
        pattern=r"^$|^\d\d:\d\d(:\d\d)?-\d\d:\d\d(:\d\d)?$",
        description="Local quiet hours for recipients who chose none; empty for none",
    )
    quiet_hours_check_seconds: float = Field(default=30, gt=0)
    operator_emails: str = Field(default="", description="region=address pairs, comma-separated, for digests")
    operator_language: str = Field(default="id", pattern="^(id|en)$")
    operator_timezone: str = "Asia/Jakarta"
    digest_enabled: bool = Field(
        default=True, description="Send the operators' daily digest; the preview endpoint answers either way"
    )
    digest_at: time = Field(default=time(7, 0), description="Operators' local time the daily digest goes out")
    digest_check_seconds: float = Field(default=60, gt=0)
    webhook_retry_schedule: Annotated[list[float], NoDecode] = Field(
        default=STANDARD_WEBHOOKS_SCHEDULE,
        description="Seconds before each attempt, comma-separated; the first is normally 0 (at once)",
    )
    webhook_retry_jitter: float = Field(default=0.1, ge=0, lt=1)
    webhook_timeout_seconds: float = Field(default=15, gt=0, le=30)
    webhook_disable_after_seconds: float = Field(
        default=5 * 86400, gt=0, description="A failure run this long disables the endpoint and tells its owner"
    )
    webhook_poll_seconds: float = Field(default=1.0, gt=0)
    webhook_allow_loopback: bool = Field(
        default=False, description="Tests only: lets endpoints on 127.0.0.1/::1 through the SSRF guard"
    )

    @field_validator("webhook_retry_schedule", mode="before")
    @classmethod
    def split_schedule(cls, value: object) -> object:
        if isinstance(value, str):
            return [float(part) for part in value.split(",") if part.strip()]
        return value

    def operator_email(self, region: str) -> str | None:
        pairs = (item.split("=", 1) for item in self.operator_emails.split(",") if "=" in item)
        return {r.strip(): address.strip() for r, address in pairs}.get(region)
