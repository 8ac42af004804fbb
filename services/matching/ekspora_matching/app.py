"""Wiring: the one place where the matching service's dependencies are built and connected."""

from datetime import timedelta
from typing import get_args

from fastapi import FastAPI

from ekspora_kit.clock import Clock
from ekspora_kit.http import create_http_app
from ekspora_kit.leases import Exclusive, Leases
from ekspora_kit.runtime import ServiceRuntime
from ekspora_matching.api import ROUTERS
from ekspora_matching.api.deps import Operations
from ekspora_matching.domain.proposals import MatchStatus
from ekspora_matching.handlers import build_routes
from ekspora_matching.policy import RulesHolder, load_exchange_rates, load_scoring
from ekspora_matching.service import MatchingService
from ekspora_matching.settings import MatchingSettings
from ekspora_matching.store import MatchingStore


def demand_filling(
    store: MatchingStore, clock: Clock, *, holder: str, settings: MatchingSettings | None = None
) -> Exclusive:
    """Who may fill a demand now: one filler at a time across instances, each instance its own holder."""
    settings = settings or MatchingSettings()
    leases = Leases(store.allocation_leases, holder=holder, seconds=settings.allocation_lease_seconds, clock=clock)
    return Exclusive(leases, patience_seconds=settings.allocation_patience_seconds)


def create_app(settings: MatchingSettings) -> FastAPI:
    runtime = ServiceRuntime(settings)
    store = MatchingStore(runtime.db)
    rules = RulesHolder()
    service = MatchingService(
        store,
        rules=rules.get,
        scoring=load_scoring(),
        exchange_rates=load_exchange_rates(),
        clock=runtime.clock,
        expiry=timedelta(days=settings.proposal_expiry_days),
        filling=demand_filling(
            store, runtime.clock, holder=f"{settings.service}-{settings.instance}", settings=settings
        ),
    )
    runtime.relay_outboxes_of(store.outboxes)
    runtime.count_states(
        store.pairs,
        name="ekspora_matches",
        documentation="Product-demand pairs per match status",
        region="region",
        state="current_status",
        label="status",
        states=get_args(MatchStatus),
    )
    runtime.consume_per_region(lambda region: build_routes(service, region))
    runtime.every("proposal-expiry", settings.expiry_check_seconds, service.expire_due)
    runtime.every("requests-due", settings.expiry_check_seconds, service.close_due_demands)
    runtime.every("capacity-release", settings.expiry_check_seconds, service.release_finished_holds)
    runtime.every("recurring-orders", settings.expiry_check_seconds, service.place_recurring_orders)
    runtime.every("opportunity-recounts", settings.recount_seconds, service.recount_opportunities)
    return create_http_app(
        runtime,
        title="Ekspora matching",
        description="Diaspora partners abroad, their demand, destination import rules, and explained match proposals.",
        routers=ROUTERS,
        state={"operations": Operations(service, store, rules), "partner_by_id": store.partner},
        on_startup=store.ensure_indexes,
    )
