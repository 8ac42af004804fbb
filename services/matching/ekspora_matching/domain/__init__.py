"""Matching domain: partners, demand, products on offer, scoring and the proposal lifecycle. Pure.

A proposal lives in one document per product-demand pair, so there is never more than one open
proposal for a pair, and a redelivered trigger finds the open one and changes nothing. The API and
the events call a pair's proposal round a "match".
"""

from ekspora_contracts.matching import WithdrawalReason
from ekspora_matching.domain.continuity import preferred_first, previous_order_id, recurring_order, reorder
from ekspora_matching.domain.pricing import countered, quote, requoted
from ekspora_matching.domain.proposals import (
    HOLDING,
    Change,
    Fill,
    MatchStatus,
    Pair,
    Round,
    SalesReport,
    accept,
    decline,
    expire,
    fill_of,
    match_id,
    pair_id,
    propose,
    report_sales,
    requote,
    with_a_part,
    withdraw,
)
from ekspora_matching.domain.scoring import (
    PRODUCT_PARTS,
    Allocation,
    Evaluation,
    Refusal,
    allocate,
    best_for_demand,
    evaluate,
    free_capacity,
    hard_filter,
    ranking,
    ready_by,
    score_ceiling,
)
from ekspora_matching.domain.views import Demand, Lane, Offer, Partner, PartnerStats, unserved

__all__ = [
    "HOLDING",
    "PRODUCT_PARTS",
    "Allocation",
    "Change",
    "Demand",
    "Evaluation",
    "Fill",
    "Lane",
    "MatchStatus",
    "Offer",
    "Pair",
    "Partner",
    "PartnerStats",
    "Refusal",
    "Round",
    "SalesReport",
    "WithdrawalReason",
    "accept",
    "allocate",
    "best_for_demand",
    "countered",
    "decline",
    "evaluate",
    "expire",
    "fill_of",
    "free_capacity",
    "hard_filter",
    "match_id",
    "pair_id",
    "preferred_first",
    "previous_order_id",
    "propose",
    "quote",
    "ranking",
    "ready_by",
    "recurring_order",
    "reorder",
    "report_sales",
    "requote",
    "requoted",
    "score_ceiling",
    "unserved",
    "with_a_part",
    "withdraw",
]
