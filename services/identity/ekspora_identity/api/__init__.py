"""HTTP API: operators issue and revoke partners' API keys; a partner exchanges one for an access
token, and lists or revokes its own keys with it."""

from ekspora_identity.api import keys, tokens

ROUTERS = [keys.router, tokens.router]
