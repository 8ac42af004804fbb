"""What shipping's routes depend on: the use cases, reads and settings, through Depends."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel

from ekspora_kit.domain import NotFound
from ekspora_kit.files import FileStore
from ekspora_kit.tokens import Access
from ekspora_shipping import domain
from ekspora_shipping.policy import Lanes
from ekspora_shipping.service import ShippingService
from ekspora_shipping.settings import ShippingSettings
from ekspora_shipping.store import ShippingStore


class ShipmentView(BaseModel):
    shipment: domain.Shipment
    total_kg: float
    total_cbm: float
    freight_idr: int
    cost_shares_idr: dict[str, int]
    documents_to_verify: list[str]


@dataclass(frozen=True)
class Operations:
    service: ShippingService
    store: ShippingStore
    settings: ShippingSettings
    files: FileStore

    @property
    def lanes(self) -> Lanes:
        return self.service.lanes

    async def in_region(self, shipment_id: str, operator: Access) -> domain.Shipment:
        """Operators see their regions' shipments only; another region's is as if it did not exist."""
        shipment = await self.store.get(shipment_id)
        if shipment is None or not operator.covers(shipment.region):
            raise NotFound(f"no shipment {shipment_id}")
        return shipment

    def view(self, shipment: domain.Shipment) -> ShipmentView:
        return ShipmentView(
            shipment=shipment,
            total_kg=shipment.total_kg,
            total_cbm=shipment.total_cbm,
            freight_idr=domain.freight_idr(shipment, self.lanes),
            cost_shares_idr=domain.cost_shares(shipment, self.lanes),
            documents_to_verify=domain.document_gaps(shipment),
        )


def operations(request: Request) -> Operations:
    return request.app.state.operations


Shipping = Annotated[Operations, Depends(operations)]
