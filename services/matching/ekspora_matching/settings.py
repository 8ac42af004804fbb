from ekspora_kit.settings import ServiceSettings


class MatchingSettings(ServiceSettings):
    service: str = "matching"
    http_port: int = 8102
