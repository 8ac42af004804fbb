"""The console's pages, one router per kind of person and resource: signing in, the operators', the
partners' (and their webhook endpoints)."""

from ekspora_console.pages import operators, partners, signing, webhooks

ROUTERS = [signing.router, operators.router, partners.router, webhooks.router]
