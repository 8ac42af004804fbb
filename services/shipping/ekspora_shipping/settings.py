from ekspora_kit.settings import ServiceSettings


class ShippingSettings(ServiceSettings):
    service: str = "shipping"
    http_port: int = 8103
