"""Products of an UMKM: listing, changes, certificates, delisting."""

from uuid import uuid4

from fastapi import APIRouter
from pydantic import BaseModel

from ekspora_contracts.registry import CertificateKind
from ekspora_kit.auth import Operator
from ekspora_kit.domain import NotFound
from ekspora_registry import domain
from ekspora_registry.api.deps import Registry

router = APIRouter(tags=["products"])
PRODUCT = "/msmes/{msme_id}/products/{product_id}"


class ProductView(BaseModel):
    msme_id: str
    product: domain.Product


@router.post("/msmes/{msme_id}/products", status_code=201, response_model=ProductView)
async def list_product(
    operator: Operator, registry: Registry, msme_id: str, command: domain.ListProduct
) -> ProductView:
    product_id = f"prd-{uuid4().hex[:12]}"
    msme = await registry.apply(operator, msme_id, domain.list_product, command, product_id)
    return ProductView(msme_id=msme_id, product=msme.product(product_id))


@router.get("/products/{product_id}", response_model=ProductView)
async def get_product(operator: Operator, registry: Registry, product_id: str) -> ProductView:
    owner = await registry.store.owner_of_product(product_id)
    msme = await registry.store.get(owner) if owner else None
    if msme is None or not operator.covers(msme.region):
        raise NotFound(f"no product {product_id}")
    return ProductView(msme_id=msme.msme_id, product=msme.product(product_id))


@router.patch(PRODUCT, response_model=ProductView)
async def update_product(
    operator: Operator, registry: Registry, msme_id: str, product_id: str, command: domain.UpdateProduct
) -> ProductView:
    msme = await registry.apply(operator, msme_id, domain.update_product, product_id, command)
    return ProductView(msme_id=msme_id, product=msme.product(product_id))


@router.post(
    f"{PRODUCT}/certificates", status_code=201, response_model=ProductView, summary="Add or renew a certificate"
)
async def add_certificate(
    operator: Operator, registry: Registry, msme_id: str, product_id: str, command: domain.AddCertificate
) -> ProductView:
    msme = await registry.apply(operator, msme_id, domain.add_certificate, product_id, command)
    return ProductView(msme_id=msme_id, product=msme.product(product_id))


@router.delete(f"{PRODUCT}/certificates/{{kind}}", response_model=ProductView)
async def remove_certificate(
    operator: Operator, registry: Registry, msme_id: str, product_id: str, kind: CertificateKind
) -> ProductView:
    msme = await registry.apply(operator, msme_id, domain.remove_certificate, product_id, kind)
    return ProductView(msme_id=msme_id, product=msme.product(product_id))


@router.delete(
    PRODUCT, response_model=domain.Msme, summary="Delist a product; its export readiness, if any, is withdrawn"
)
async def delist_product(
    operator: Operator, registry: Registry, msme_id: str, product_id: str, body: domain.Withdrawal
) -> domain.Msme:
    return await registry.apply(operator, msme_id, domain.delist_product, product_id, body.reason)
