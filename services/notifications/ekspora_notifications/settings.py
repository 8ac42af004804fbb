from pydantic import Field

from ekspora_kit.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    service: str = "notifications"
    http_port: int = 8104
    messaging_provider_url: str = Field(default="", description="Base URL of the WhatsApp/SMS provider's HTTP API")
    messaging_provider_token: str = Field(default="", description="Bearer credential for the provider")
    smtp_host: str = Field(default="", description="SMTP server for email; unset, email is not sent")
    smtp_port: int = 25
    smtp_sender: str = "Ekspora <noreply@ekspora.id>"
    send_attempts: int = Field(default=3, ge=1, description="Tries per channel before falling back")
    send_backoff_seconds: float = Field(default=0.5, ge=0)
