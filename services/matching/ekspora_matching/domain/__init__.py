"""Matching domain: partners, demand, products on offer, scoring and the proposal lifecycle. Pure.

A proposal lives in one document per product-demand pair, so there is never more than one open
proposal for a pair, and a redelivered trigger finds the open one and changes nothing. The API and
the events call a pair's proposal round a "match".
"""

from ekspora_matching.domain.proposals import (
    Change,
    MatchStatus,
    Pair,
    Round,
    SalesReport,
    accept,
    decline,
    expire,
    match_id,
    pair_id,
    propose,
    report_sales,
)
from ekspora_matching.domain.scoring import (
    PRODUCT_PARTS,
    Evaluation,
    Refusal,
    best_for_demand,
    evaluate,
    hard_filter,
    ranking,
    score_ceiling,
)
from ekspora_matching.domain.views import Demand, Offer, Partner, PartnerStats, Rates

__all__ = [
    "PRODUCT_PARTS",
    "Change",
    "Demand",
    "Evaluation",
    "MatchStatus",
    "Offer",
    "Pair",
    "Partner",
    "PartnerStats",
    "Rates",
    "Refusal",
    "Round",
    "SalesReport",
    "accept",
    "best_for_demand",
    "decline",
    "evaluate",
    "expire",
    "hard_filter",
    "match_id",
    "pair_id",
    "propose",
    "ranking",
    "report_sales",
    "score_ceiling",
]
