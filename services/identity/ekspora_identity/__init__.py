"""The one place that issues and revokes credentials: partners' API keys, and the short-lived access
tokens, signed with its private key, that every other service verifies with its public one."""
