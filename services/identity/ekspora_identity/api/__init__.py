"""HTTP API: operators issue and revoke partners' API keys; a partner exchanges one for an access
token, and lists or revokes its own keys with it. Admins manage people's accounts; a person signs in."""

from ekspora_identity.api import keys, people, tokens

ROUTERS = [keys.router, tokens.router, people.router]
