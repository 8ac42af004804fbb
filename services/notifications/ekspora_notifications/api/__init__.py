"""HTTP API for people and partner systems, one router per resource: in-app feeds and the delivery
log, preferences, the operators' daily digest, partner webhook subscriptions, and the WhatsApp
Cloud API's webhook (owners' replies), and the readiness report pages owners' links open."""

from ekspora_notifications.api import channels, digests, feeds, preferences, reports, webhooks

ROUTERS = [feeds.router, preferences.router, digests.router, webhooks.router, channels.router, reports.router]
