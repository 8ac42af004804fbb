"""The four services and identity as the console calls them: over HTTP, as the signed-in person (their
access token), so every change a person makes in the console is recorded in the service as theirs,
and the service, not the console, decides what they may see and do."""

from dataclasses import dataclass
from typing import Any

import httpx


class ServiceRefused(Exception):
    """The service answered 4xx: `status` and its message, shown to the person."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class SessionEnded(Exception):
    """The service refused the token (expired, revoked, account disabled): sign in again."""


@dataclass(frozen=True)
class Evidence:
    content: bytes
    content_type: str
    filename: str


@dataclass(frozen=True)
class ServiceUrls:
    """Where each service answers; a `{region}` in a URL is the region asked about, where each region
    has its own instances (Kubernetes: `http://registry-{region}:8101`)."""

    identity: str
    registry: str
    matching: str
    shipping: str
    notifications: str
    default_region: str

    def of(self, service: str, region: str | None) -> str:
        url: str = getattr(self, service)
        return url.replace("{region}", region or self.default_region)


class Services:
    def __init__(self, urls: ServiceUrls, client: httpx.AsyncClient) -> None:
        self.urls, self.client = urls, client

    async def call(
        self, token: str, method: str, url: str, extra_headers: dict[str, str] | None = None, **request: Any
    ) -> Any:
        answer = await self._answered(token, method, url, extra_headers, **request)
        return answer.json() if answer.content else None

    async def file(self, token: str, url: str) -> tuple[bytes, str]:
        """A document a service keeps (its bytes and type), as the person may read it."""
        answer = await self._answered(token, "GET", url)
        return answer.content, answer.headers.get("content-type", "application/octet-stream")

    async def _answered(
        self, token: str, method: str, url: str, extra_headers: dict[str, str] | None = None, **request: Any
    ) -> httpx.Response:
        """The service's answer as the person, or SessionEnded (401) or ServiceRefused (other 4xx)."""
        headers = {"Authorization": f"Bearer {token}", **(extra_headers or {})}
        answer = await self.client.request(method, url, headers=headers, **request)
        if answer.status_code == 401:
            raise SessionEnded(answer.text)
        if answer.status_code >= 400:
            raise ServiceRefused(answer.status_code, _message(answer))
        return answer

    async def sign_in(self, email: str, password: str) -> httpx.Response:
        url = self.urls.of("identity", None) + "/sign-in"
        return await self.client.post(url, json={"email": email, "password": password})

    async def renew(self, token: str) -> httpx.Response:
        url = self.urls.of("identity", None) + "/sign-in/renewal"
        return await self.client.post(url, headers={"Authorization": f"Bearer {token}"})

    def as_person(self, token: str) -> "AsPerson":
        return AsPerson(self, token)


def _message(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return answer.text[:200]
    errors = body.get("errors") or []
    details = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors if e.get("field"))
    return details or str(body.get("message", ""))


@dataclass(frozen=True)
class AsPerson:
    """The services' calls the console's pages make, as one person."""

    services: Services
    token: str

    async def _get(self, service: str, instance: str | None, path: str, **params: Any) -> Any:
        """GET from the service's instance of region `instance` (any, when None)."""
        wanted = {key: value for key, value in params.items() if value not in (None, "")}
        url = self.services.urls.of(service, instance) + path
        return await self.services.call(self.token, "GET", url, params=wanted)

    async def _post(self, service: str, instance: str | None, path: str, body: dict | None = None) -> Any:
        url = self.services.urls.of(service, instance) + path
        return await self.services.call(self.token, "POST", url, json=body or {})

    async def people(self) -> list[dict]:
        return list(await self._get("identity", None, "/people"))

    async def new_person(self, account: dict) -> dict:
        return dict(await self._post("identity", None, "/people", account))

    async def disable_person(self, person_id: str) -> dict:
        url = self.services.urls.of("identity", None) + f"/people/{person_id}"
        return dict(await self.services.call(self.token, "DELETE", url))

    async def msmes(self, region: str, **filters: Any) -> dict:
        return dict(await self._get("registry", region, "/msmes", region=region, **filters))

    async def funnel(self, region: str) -> dict:
        return dict(await self._get("registry", region, "/funnel", region=region))

    async def msme(self, msme_id: str, region: str) -> dict:
        return dict(await self._get("registry", region, f"/msmes/{msme_id}"))

    async def assessments(self, msme_id: str, region: str) -> list[dict]:
        return list(await self._get("registry", region, f"/msmes/{msme_id}/assessments"))

    async def sent_to_owner(self, msme_id: str, region: str) -> list[dict]:
        """What the owner was sent; nothing while notifications has not yet learned the owner's contact
        from the bus (it then refuses to say, as for an owner it does not know)."""
        try:
            return list(await self._get("notifications", region, f"/feeds/umkm:{msme_id}/deliveries"))
        except ServiceRefused as refused:
            if refused.status in (403, 404):
                return []
            raise

    async def matches(self, region: str | None = None, status: str | None = None) -> list[dict]:
        return list(await self._get("matching", region, "/matches", region=region, status=status))

    async def accept(self, match_id: str) -> dict:
        return dict(await self._post("matching", None, f"/matches/{match_id}/acceptance"))

    async def decline(self, match_id: str, reason: str) -> dict:
        return dict(await self._post("matching", None, f"/matches/{match_id}/decline", {"reason": reason}))

    async def shipments(self, region: str, status: str | None = None) -> list[dict]:
        return list(await self._get("shipping", region, "/shipments", region=region, status=status))

    async def cohorts(self, region: str) -> list[dict]:
        return list(await self._get("registry", region, "/cohorts", region=region))

    async def opportunities(self, region: str, gap_code: str | None = None) -> list[dict]:
        """The region's gaps by the open demand closing them would open, largest first (one gap's)."""
        return list(await self._get("registry", region, "/opportunities", region=region, gap_code=gap_code))

    async def cohort(self, cohort_id: str, region: str) -> dict:
        return dict(await self._get("registry", region, f"/cohorts/{cohort_id}"))

    async def new_cohort(self, region: str, name: str, starts_on: str, ends_on: str | None) -> dict:
        body = {"region": region, "name": name, "starts_on": starts_on, "ends_on": ends_on or None}
        return dict(await self._post("registry", region, "/cohorts", body))

    async def enrol(self, cohort_id: str, msme_id: str, region: str) -> dict:
        return dict(await self._post("registry", region, f"/cohorts/{cohort_id}/enrollments", {"msme_id": msme_id}))

    async def milestone_done(self, msme_id: str, code: str, region: str, note: str, evidence: Evidence | None) -> dict:
        """Recorded with what was seen: the note, and the document or photo when there is one."""
        path = f"/msmes/{msme_id}/incubation/milestones/{code}"
        if evidence is None:
            return dict(await self._post("registry", region, f"{path}/completion", {"note": note}))
        url = self.services.urls.of("registry", region) + f"{path}/evidence"
        params = {"note": note, "filename": evidence.filename}
        headers = {"Content-Type": evidence.content_type}
        return dict(await self.services.call(self.token, "PUT", url, headers, params=params, content=evidence.content))

    async def milestone_evidence(self, msme_id: str, code: str, region: str) -> tuple[bytes, str]:
        url = self.services.urls.of("registry", region) + f"/msmes/{msme_id}/incubation/milestones/{code}/evidence"
        return await self.services.file(self.token, url)

    async def attendance(self, cohort_id: str, session_id: str, present: list[str], region: str) -> list[dict]:
        url = self.services.urls.of("registry", region) + f"/cohorts/{cohort_id}/sessions/{session_id}/attendance"
        return list(await self.services.call(self.token, "PUT", url, json={"present": present}))

    async def schedule_session(self, cohort_id: str, region: str, session: dict) -> dict:
        return dict(await self._post("registry", region, f"/cohorts/{cohort_id}/sessions", session))

    async def add_mentor(self, cohort: dict, mentor: dict, password: str) -> dict:
        """The mentor's account (made by the operator, or the one the address has) and their place
        in the cohort."""
        account = {k: mentor[k] for k in ("email", "name")} | {"role": "mentor", "regions": [cohort["region"]]}
        try:
            person = await self.new_person(account | {"password": password})
        except ServiceRefused as refused:
            if refused.status != 409:
                raise
            [person] = await self._get("identity", None, "/people", email=mentor["email"])
        path = f"/cohorts/{cohort['cohort_id']}/mentors"
        return dict(await self._post("registry", cohort["region"], path, mentor | {"person_id": person["person_id"]}))

    async def shipment(self, shipment_id: str, region: str) -> dict:
        return dict(await self._get("shipping", region, f"/shipments/{shipment_id}"))

    async def demands(self, region: str | None = None) -> list[dict]:
        return list(await self._get("matching", region, "/demands"))

    async def partners(self, region: str) -> list[dict]:
        return list(await self._get("matching", region, "/partners"))

    async def verify_partner(self, partner_id: str, region: str) -> dict:
        return dict(await self._post("matching", region, f"/partners/{partner_id}/verification"))

    async def post_demand(self, body: dict) -> dict:
        return dict(await self._post("matching", None, "/demands", body))

    async def close_demand(self, demand_id: str) -> dict:
        return dict(await self._post("matching", None, f"/demands/{demand_id}/closure"))

    async def report_sales(self, match_id: str, body: dict, idempotency_key: str) -> dict:
        url = self.services.urls.of("matching", None) + f"/matches/{match_id}/sales-reports"
        headers = {"Idempotency-Key": idempotency_key}
        return dict(await self.services.call(self.token, "POST", url, json=body, extra_headers=headers))

    async def event_types(self) -> list[dict]:
        return list(await self._get("notifications", None, "/webhooks/event-types"))

    async def endpoints(self) -> list[dict]:
        return list(await self._get("notifications", None, "/webhooks/endpoints"))

    async def add_endpoint(self, url: str, event_types: list[str], description: str) -> dict:
        body = {"url": url, "event_types": event_types, "description": description}
        return dict(await self._post("notifications", None, "/webhooks/endpoints", body))

    async def rotate_secret(self, endpoint_id: str) -> dict:
        return dict(await self._post("notifications", None, f"/webhooks/endpoints/{endpoint_id}/secret/rotate"))

    async def endpoint(self, endpoint_id: str) -> dict:
        return dict(await self._get("notifications", None, f"/webhooks/endpoints/{endpoint_id}"))

    async def webhook_deliveries(self, endpoint_id: str) -> list[dict]:
        path = f"/webhooks/endpoints/{endpoint_id}/deliveries"
        return list(await self._get("notifications", None, path, limit=50))

    async def replay(self, endpoint_id: str, delivery_id: str) -> dict:
        path = f"/webhooks/endpoints/{endpoint_id}/deliveries/{delivery_id}/replay"
        return dict(await self._post("notifications", None, path))
