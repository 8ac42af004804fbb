"""The readiness engine: each product scored against the rubric, the UMKM reassessed after every change of evidence."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from ekspora_contracts.registry import (
    CriterionScore,
    Gap,
    IncubationGraduated,
    IncubationMilestoneCompleted,
    ProductAssessed,
    ProductExportReadinessLost,
    ProductExportReady,
    ReadinessAssessed,
    ReadinessAssessedV1,
    Road,
    RoadAdvice,
    Tier,
    UnlockedDemand,
)
from ekspora_registry.domain.events import product_facts
from ekspora_registry.domain.model import Assessment, Change, Msme, Product, Witnessed
from ekspora_registry.policy import CategoryRule, Rubric, certificate_gap_code


@dataclass(frozen=True)
class Scored:
    score: int
    tier: Tier
    criteria: list[CriterionScore]
    gaps: list[Gap]
    product_id: str | None


def local_today(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def valid_certificates(product: Product, today: date) -> set[str]:
    """Kinds that count today: a certificate counts once its evidence is verified, and stops on its
    expiry date."""
    return {c.kind for c in product.certificates if c.counts and c.expires_on > today}


def unverified_certificates(product: Product, today: date) -> set[str]:
    return {c.kind for c in product.certificates if not c.counts and c.expires_on > today}


class _ScoreSheet:
    """Points and gaps per criterion, as the rubric awards them."""

    def __init__(self, rubric: Rubric) -> None:
        self.rubric = rubric
        self.criteria: list[CriterionScore] = []
        self.gaps: list[Gap] = []

    def award(self, criterion: str, points: int, max_points: int, detail: str, gap_codes: Sequence[str] = ()) -> None:
        self.criteria.append(CriterionScore(criterion=criterion, points=points, max_points=max_points, detail=detail))
        for code in gap_codes:
            self.gap(code, criterion, (max_points - points) // len(gap_codes))

    def gap(self, code: str, criterion: str, points_missing: int) -> None:
        text = self.rubric.gap_text(code)
        self.gaps.append(
            Gap(
                code=code,
                criterion=criterion,
                points_missing=points_missing,
                next_step_id=text.next_step_id,
                next_step_en=text.next_step_en,
                programme=self.rubric.programme_for(code),
            )
        )

    @property
    def score(self) -> int:
        return sum(c.points for c in self.criteria)


def score_product(msme: Msme, product: Product | None, rubric: Rubric, today: date) -> Scored:
    sheet = _ScoreSheet(rubric)
    _legality(sheet, msme)
    if product is None:
        certificates_complete = False
        product_criteria = ("certificates", "capacity", "packaging", "export_pricing")
        for name in product_criteria:
            sheet.award(name, 0, getattr(rubric.criteria, name).max_points, "no product registered")
        sheet.gap("product.none", "product", sum(getattr(rubric.criteria, n).max_points for n in product_criteria))
    else:
        category = rubric.categories[product.category]
        certificates_complete = _certificates(sheet, product, category, today)
        _capacity(sheet, product, category)
        _packaging(sheet, product)
        _export_pricing(sheet, product, category)
    _marketplace(sheet, msme)
    _track_record(sheet, msme)
    tier = next(
        rule.tier
        for rule in rubric.tiers
        if sheet.score >= rule.min_score and (certificates_complete or not rule.requires_all_required_certificates)
    )
    return Scored(sheet.score, tier, sheet.criteria, sheet.gaps, product.product_id if product else None)


def _legality(sheet: _ScoreSheet, msme: Msme) -> None:
    rule = sheet.rubric.criteria.legality
    if msme.nib_verified:
        sheet.award("legality", rule.nib_verified_points, rule.max_points, "NIB verified")
    else:
        sheet.award(
            "legality",
            rule.nib_unverified_points,
            rule.max_points,
            "NIB on file, not yet verified",
            ["legality.nib_unverified"],
        )


def _certificates(sheet: _ScoreSheet, product: Product, category: CategoryRule, today: date) -> bool:
    max_points = sheet.rubric.criteria.certificates.max_points
    groups = category.required_certificates
    if not groups:
        sheet.award("certificates", max_points, max_points, f"no certificate required for {category.label_en.lower()}")
        return True
    held = valid_certificates(product, today)
    share, remainder = divmod(max_points, len(groups))
    points, missing = 0, []
    for index, group in enumerate(groups):
        if held & set(group):
            points += share + (remainder if index == len(groups) - 1 else 0)
        else:
            missing.append(certificate_gap_code(group))
    awaiting = sorted(unverified_certificates(product, today) & {kind for group in groups for kind in group})
    detail = (
        "all required certificates valid"
        if not missing
        else "missing or expired: "
        + ", ".join(code.removeprefix("certificate.").replace("|", " or ") for code in missing)
        + (f" (on file, evidence not yet verified: {', '.join(awaiting)})" if awaiting else "")
    )
    sheet.award("certificates", points, max_points, detail, missing)
    return not missing


def _capacity(sheet: _ScoreSheet, product: Product, category: CategoryRule) -> None:
    rule = sheet.rubric.criteria.capacity
    ratio = product.monthly_capacity / category.typical_monthly_order_units
    points = rule.max_points if ratio >= 1 else rule.partial_points if ratio >= rule.partial_ratio else 0
    sheet.award(
        "capacity",
        points,
        rule.max_points,
        f"{product.monthly_capacity} per month against a typical order of {category.typical_monthly_order_units}",
        [] if points == rule.max_points else ["capacity.below_typical_order"],
    )


def _packaging(sheet: _ScoreSheet, product: Product) -> None:
    max_points = sheet.rubric.criteria.packaging.max_points
    sheet.award(
        "packaging",
        max_points if product.english_label else 0,
        max_points,
        "English label on the packaging" if product.english_label else "no English label",
        [] if product.english_label else ["packaging.no_english_label"],
    )


def _export_pricing(sheet: _ScoreSheet, product: Product, category: CategoryRule) -> None:
    max_points = sheet.rubric.criteria.export_pricing.max_points
    ceiling = category.max_export_unit_price_idr
    fits = product.unit_price_idr <= ceiling
    sheet.award(
        "export_pricing",
        max_points if fits else 0,
        max_points,
        f"Rp{product.unit_price_idr:,} per {product.unit} against at most Rp{ceiling:,}",
        [] if fits else ["export_pricing.above_market"],
    )


def _marketplace(sheet: _ScoreSheet, msme: Msme) -> None:
    """A listing counts once sales from its marketplace are imported, not because a URL was typed."""
    rule = sheet.rubric.criteria.marketplace
    selling = msme.listings_with_sales()
    points = min(rule.max_points, rule.points_per_listing * len(selling))
    gaps = ["marketplace.no_listing"] if not msme.listings else ["marketplace.no_sales"] if not selling else []
    sheet.award(
        "marketplace",
        points,
        rule.max_points,
        f"{len(msme.listings)} marketplace listing(s), {len(selling)} with sales imported",
        gaps,
    )


def _track_record(sheet: _ScoreSheet, msme: Msme) -> None:
    """Partners' reports from abroad, or failing those the marketplace sales imported month after
    month (worth a fair record at most): whichever earns more."""
    rule, record = sheet.rubric.criteria.track_record, msme.track_record
    from_partners = next(
        (
            band.points
            for band in (rule.good, rule.fair)
            if record.reports >= band.min_reports
            and record.average_rating >= band.min_average_rating
            and record.reorder_rate >= band.min_reorder_rate
        ),
        0,
    )
    sold = msme.marketplace_sales.values()
    orders = sum(sales.orders for sales in sold)
    months = _months_spanned(min(s.first_sale_on for s in sold), max(s.last_sale_on for s in sold)) if sold else 0
    band = rule.marketplace
    from_marketplaces = band.points if orders >= band.min_orders and months >= band.min_months else 0
    reports = (
        f"{record.reports} report(s), average rating {record.average_rating:.1f}, "
        f"reorder rate {record.reorder_rate:.0%}"
        if record.reports
        else "no sales feedback from partners yet"
    )
    detail = reports + (f"; {orders} marketplace order(s) over {months} month(s)" if sold else "")
    points = max(from_partners, from_marketplaces)
    gaps = ["track_record.none"] if record.reports == 0 else [] if points == rule.max_points else ["track_record.weak"]
    sheet.award("track_record", points, rule.max_points, detail, gaps)


def _months_spanned(first: date, last: date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month + 1


def road_for(scored: Scored, rubric: Rubric, unlocked: Sequence[UnlockedDemand] = ()) -> RoadAdvice:
    """The road to recommend: international when siap; else the marketplace first unless a gap blocks
    selling online too (then incubation first). Its next steps put what decides the road first, then
    what stands between the product and export; within each, the gap that would open the most open
    demand (`unlocked`, from matching) first, then the heaviest. A track record comes of exporting."""
    blocking_sale = [gap for gap in scored.gaps if "marketplace" in rubric.gap_text(gap.code).blocks]
    blocking_export = [gap for gap in scored.gaps if "export" in rubric.gap_text(gap.code).blocks]
    road: Road
    if scored.tier == "siap":
        road, first, decisive = "go_international", [], []
    elif blocking_sale:
        road, first, decisive = "incubate_first", blocking_sale, blocking_sale
    else:
        road, decisive = "go_to_marketplace", blocking_export or scored.gaps
        first = [gap for gap in scored.gaps if gap.criterion == "marketplace"]
    value = {opening.gap_code: opening.value_idr for opening in unlocked}

    def rank(gap: Gap) -> tuple[bool, bool, int, int]:
        return gap not in first, gap not in blocking_export, -value.get(gap.code, 0), -gap.points_missing

    steps = sorted(scored.gaps, key=rank)
    text = rubric.roads[road]

    def names(language: str) -> str:
        return ", ".join(getattr(rubric.milestone_for(gap.code), f"title_{language}") for gap in decisive)

    return RoadAdvice(
        road=road,
        reason_id=text.reason_id.format(score=scored.score, blocking=names("id")),
        reason_en=text.reason_en.format(score=scored.score, blocking=names("en")),
        next_steps=steps,
        unlocked=[opening for step in steps for opening in unlocked if opening.gap_code == step.code],
    )


def best_score(msme: Msme, rubric: Rubric, today: date) -> tuple[Scored, dict[str, Scored]]:
    per_product = {p.product_id: score_product(msme, p, rubric, today) for p in msme.products}
    if not per_product:
        return score_product(msme, None, rubric, today), {}
    rank = {"siap": 2, "setengah": 1, "didorong": 0}
    best = max(per_product.values(), key=lambda s: (rank[s.tier], s.score))  # first listed wins a tie
    return best, per_product


def next_certificate_expiry(
    msme: Msme, now: datetime, warn_days: Sequence[int] = (), remind_before: timedelta | None = None
) -> datetime | None:
    """The next instant (UTC) the clock changes something: a certificate stops counting (local midnight
    of its expiry date), or its owner is due a warning `warn_days` before that, or a member is due a
    reminder `remind_before` a session; now, for one that fell due before it was known (or while no
    check ran)."""
    zone = ZoneInfo(msme.profile.timezone)

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time.min, zone).astimezone(UTC)

    instants = []
    for certificate in (c for product in msme.products for c in product.certificates):
        if (expiry := midnight(certificate.expires_on)) <= now:
            continue
        instants.append(expiry)
        instants += [
            max(midnight(certificate.expires_on - timedelta(days=days)), now)
            for days in warn_days
            if days not in certificate.warned_days
        ]
    enrolment = msme.incubation
    if remind_before is not None and enrolment is not None and not enrolment.graduated_at:
        instants += [
            max(session.starts_at - remind_before, now)
            for session in enrolment.sessions
            if not session.reminded and session.starts_at > now
        ]
    return min(instants) if instants else None


def mark_milestone_done(
    change: Change, code: str, by: Literal["operator", "evidence"], now: datetime, seen: Witnessed | None = None
) -> Change:
    enrolment = change.msme.incubation
    assert enrolment is not None
    completion: dict[str, object] = {"completed_at": now, "completed_by": by}
    if seen is not None:
        completion |= {"recorded_by": seen.recorded_by, "note": seen.note, "evidence": seen.evidence}
    milestones = [m.model_copy(update=completion) if m.code == code else m for m in enrolment.milestones]
    done = next(m for m in milestones if m.code == code)
    remaining = sum(1 for m in milestones if m.completed_at is None)
    msme = change.msme.model_copy(update={"incubation": enrolment.model_copy(update={"milestones": milestones})})
    event = IncubationMilestoneCompleted(
        msme_id=msme.msme_id,
        region=msme.region,
        cohort_id=enrolment.cohort_id,
        milestone=done.as_milestone(),
        completed_by=by,
        remaining=remaining,
    )
    return Change(msme, [*change.events, event], change.new_assessment)


def reassess(change: Change, trigger: str, now: datetime, rubric: Rubric) -> Change:
    msme = change.msme
    today = local_today(now, msme.profile.timezone)
    best, per_product = best_score(msme, rubric, today)
    events = list(change.events)
    previous = msme.assessment

    products = []
    for product in msme.products:
        scored = per_product[product.product_id]
        ready = scored.tier == "siap"
        if ready and not product.export_ready:
            events.append(ProductExportReady(product=product_facts(msme, product), score=scored.score))
        elif product.export_ready and not ready:
            events.append(
                ProductExportReadinessLost(
                    product_id=product.product_id,
                    msme_id=msme.msme_id,
                    region=msme.region,
                    reasons=[gap.next_step_en for gap in scored.gaps if gap.criterion == "certificates"]
                    or [f"tier is now {scored.tier}"],
                )
            )
        gap_codes = [gap.code for gap in scored.gaps]
        if (product.score, product.tier, product.gap_codes) != (scored.score, scored.tier, gap_codes):
            events.append(
                ProductAssessed(
                    product_id=product.product_id,
                    msme_id=msme.msme_id,
                    region=msme.region,
                    score=scored.score,
                    tier=scored.tier,
                    gaps=scored.gaps,
                )
            )
        update = {"score": scored.score, "tier": scored.tier, "export_ready": ready, "gap_codes": gap_codes}
        products.append(product.model_copy(update=update))
    remind_before = timedelta(hours=rubric.sessions.remind_hours_before)
    upcoming = next_certificate_expiry(msme, now, rubric.certificate_warnings.days_before, remind_before)
    msme = msme.model_copy(update={"products": products, "next_certificate_expiry": upcoming})

    new_assessment = change.new_assessment
    unchanged = previous is not None and _readiness(
        previous.score, previous.tier, previous.gaps, previous.criteria
    ) == (_readiness(best.score, best.tier, best.gaps, best.criteria))
    best_product = next((p for p in msme.products if p.product_id == best.product_id), None)
    road = road_for(best, rubric, best_product.unlocked if best_product else ())
    if unchanged and previous is not None and (previous.criteria, previous.road) != (best.criteria, road):
        # Same readiness in new words (a new price, say) or next steps reordered by the demand behind
        # them: refresh the assessment without an event or history entry.
        refreshed = previous.model_copy(update={"criteria": best.criteria, "road": road})
        msme = msme.model_copy(update={"assessment": refreshed})
    elif not unchanged:
        new_assessment = Assessment(
            road=road,
            score=best.score,
            tier=best.tier,
            gaps=best.gaps,
            criteria=best.criteria,
            best_product_id=best.product_id,
            assessed_at=now,
            trigger=trigger,
        )
        msme = msme.model_copy(update={"assessment": new_assessment})
        assessed = ReadinessAssessedV1(
            msme_id=msme.msme_id,
            region=msme.region,
            score=best.score,
            tier=best.tier,
            previous_tier=previous.tier if previous else None,
            gaps=best.gaps,
            criteria=best.criteria,
            best_product_id=best.product_id,
            trigger=trigger,
        )
        # v1 goes on beside v2 until every reader of the public topic has moved (contracts/README.md)
        events += [assessed, ReadinessAssessed(**assessed.model_dump(), road=road)]

    change = Change(msme, events, new_assessment)
    return progress_incubation(change, best, now)


def progress_incubation(change: Change, best: Scored, now: datetime) -> Change:
    enrolment = change.msme.incubation
    if enrolment is None or enrolment.graduated_at:
        return change
    open_gaps = {gap.code for gap in best.gaps}
    for milestone in enrolment.milestones:
        if milestone.completed_at is None and milestone.gap_code not in open_gaps:
            change = mark_milestone_done(change, milestone.code, "evidence", now)
    if best.tier == "siap":
        enrolment = change.msme.incubation
        assert enrolment is not None
        graduated = enrolment.model_copy(update={"graduated_at": now})
        msme = change.msme.model_copy(update={"incubation": graduated})
        event = IncubationGraduated(
            msme_id=msme.msme_id,
            region=msme.region,
            cohort_id=enrolment.cohort_id,
            score=best.score,
            days_in_incubation=(now - enrolment.enrolled_at).days,
        )
        change = Change(msme, [*change.events, event], change.new_assessment)
    return change


def _readiness(score: int, tier: Tier, gaps: list[Gap], criteria: list[CriterionScore]) -> tuple:
    """What makes readiness differ: score, tier, gaps and points per criterion, not their wording."""
    return score, tier, gaps, [(c.criterion, c.points) for c in criteria]
