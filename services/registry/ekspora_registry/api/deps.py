"""What the registry's routes depend on: wired once in app.py, handed to them through Depends."""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from ekspora_kit.auth import Forbidden
from ekspora_kit.domain import NotFound
from ekspora_kit.files import FileStore
from ekspora_kit.http import Unprocessable
from ekspora_kit.tokens import Access
from ekspora_registry import domain
from ekspora_registry.marketplace import Marketplaces
from ekspora_registry.policy import Rubric
from ekspora_registry.service import RegistryService
from ekspora_registry.store import RegistryStore


class Operations:
    """The registry as its routes see it: use cases, reads, and which region a caller may touch."""

    def __init__(
        self,
        service: RegistryService,
        store: RegistryStore,
        rubric: Rubric,
        regions: Sequence[str],
        evidence: FileStore,
        evidence_max_bytes: int,
        marketplaces: Marketplaces,
        sales_file_max_bytes: int,
    ):
        self.service, self.store, self.rubric, self.served = service, store, rubric, set(regions)
        self.evidence, self.evidence_max_bytes = evidence, evidence_max_bytes
        self.marketplaces, self.sales_file_max_bytes = marketplaces, sales_file_max_bytes

    def check_served(self, region: str, operator: Access) -> None:
        if region not in self.served:
            served = ", ".join(sorted(self.served))
            raise Unprocessable(f"region {region} is not served here ({served})", field="region")
        if not operator.covers(region):
            raise Forbidden(f"you act for {operator.names()}, not {region}", field="region")

    def in_region(self, msme: domain.Msme | None, operator: Access, msme_id: str) -> domain.Msme:
        """Operators see their regions' UMKM only; another region's is as if it did not exist."""
        if msme is None or not operator.covers(msme.region):
            raise NotFound(f"no UMKM with id {msme_id}")
        return msme

    async def visible(self, operator: Access, msme_id: str) -> domain.Msme:
        return self.in_region(await self.store.get(msme_id), operator, msme_id)

    async def apply(
        self, operator: Access, msme_id: str, rule: Callable[..., domain.Change | None], *args: object
    ) -> domain.Msme:
        """Applies a domain rule to an UMKM of the operator's region, as a use case with retries."""

        def operation(msme: domain.Msme, now: datetime) -> domain.Change | None:
            return rule(self.in_region(msme, operator, msme_id), *args, now, self.rubric)

        return await self.service.change(msme_id, operation)


def operations(request: Request) -> Operations:
    return request.app.state.operations


Registry = Annotated[Operations, Depends(operations)]
