"""Products of an UMKM: listing, changes, certificates with their evidence, delisting."""

from uuid import uuid4

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from ekspora_contracts.registry import CertificateKind
from ekspora_kit.auth import Operator
from ekspora_kit.domain import NotFound
from ekspora_kit.files import read_upload, served
from ekspora_kit.http import Unprocessable
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


@router.put(
    f"{PRODUCT}/certificates/{{kind}}/evidence",
    response_model=ProductView,
    summary="Upload the certificate's scan: the body is the PDF, JPEG or PNG, its type in Content-Type",
    description="The certificate counts for readiness once its evidence is verified.",
    responses={413: {"description": "Larger than the limit"}, 415: {"description": "Not a PDF, JPEG or PNG"}},
)
async def upload_evidence(
    operator: Operator,
    registry: Registry,
    msme_id: str,
    product_id: str,
    kind: CertificateKind,
    request: Request,
    filename: str = Query(default="certificate", min_length=1, max_length=200, pattern=r"^[\w .()-]+$"),
) -> ProductView:
    held = await registry.visible(operator, msme_id)
    if not any(c.kind == kind for c in held.product(product_id).certificates):
        raise NotFound(f"product {product_id} holds no {kind} certificate")  # refused before the upload is read
    upload = await read_upload(request, filename=filename, max_bytes=registry.evidence_max_bytes)
    await registry.evidence.keep(upload)
    evidence = domain.Evidence(**upload.stored(operator.actor, registry.service.clock.now()).model_dump())
    msme = await registry.apply(operator, msme_id, domain.attach_evidence, product_id, kind, evidence)
    return ProductView(msme_id=msme_id, product=msme.product(product_id))


@router.get(
    f"{PRODUCT}/certificates/{{kind}}/evidence",
    response_class=Response,
    summary="The certificate's scan",
    responses={200: {"content": {"application/pdf": {}, "image/jpeg": {}, "image/png": {}}}},
)
async def download_evidence(
    operator: Operator, registry: Registry, msme_id: str, product_id: str, kind: CertificateKind
) -> Response:
    msme = await registry.visible(operator, msme_id)
    held = next((c for c in msme.product(product_id).certificates if c.kind == kind), None)
    evidence = held.evidence if held else None
    return await served(registry.evidence, evidence, f"no evidence for the {kind} certificate of {product_id}")


@router.put(
    f"{PRODUCT}/certificates/{{kind}}/evidence/review",
    response_model=ProductView,
    summary="Verify the scan (the certificate then counts), or reject it with the reason its owner is told",
    responses={409: {"description": "No scan uploaded yet"}},
)
async def review_evidence(
    operator: Operator,
    registry: Registry,
    msme_id: str,
    product_id: str,
    kind: CertificateKind,
    command: domain.ReviewEvidence,
) -> ProductView:
    if command.status == "rejected" and not command.reason:
        raise Unprocessable("say why the scan is rejected: its owner is told", field="reason")
    msme = await registry.apply(operator, msme_id, domain.review_evidence, product_id, kind, command, operator.actor)
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
