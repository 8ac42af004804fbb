"""HTTP API for people and partner systems, one router per resource: in-app feeds and the delivery
log, preferences, the operators' daily digest, and partner webhook subscriptions."""

from ekspora_notifications.api import digests, feeds, preferences, webhooks

ROUTERS = [feeds.router, preferences.router, digests.router, webhooks.router]
