from ekspora_kit.settings import ServiceSettings


class RegistrySettings(ServiceSettings):
    service: str = "registry"
    http_port: int = 8101
