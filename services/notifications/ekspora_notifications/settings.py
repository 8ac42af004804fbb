from ekspora_kit.settings import ServiceSettings


class NotificationsSettings(ServiceSettings):
    service: str = "notifications"
    http_port: int = 8104
