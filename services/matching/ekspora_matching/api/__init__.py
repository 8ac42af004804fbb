"""HTTP API, one router per resource. Operators (bearer token per region) manage partners and see
their region; partners (bearer API key, shown once) post demand and act on their own proposals only."""

from ekspora_matching.api import demands, matches, partners, rules

ROUTERS = [partners.router, demands.router, matches.router, rules.router]
