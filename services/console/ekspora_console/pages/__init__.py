"""The console's pages, one router per kind of person and resource: signing in, the operators', the
operations screen, the partners' (and their webhook endpoints), the admins' accounts."""

from ekspora_console.pages import admin, operations, operators, partners, signing, webhooks

ROUTERS = [signing.router, operators.router, operations.router, partners.router, webhooks.router, admin.router]
