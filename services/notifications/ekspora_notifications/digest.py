"""The operators' daily digest per region: what happened yesterday, in their in-app feed and by email."""

import logging
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from ekspora_notifications.delivery import Notifier, Occasion
from ekspora_notifications.domain import Recipient, digest_message
from ekspora_notifications.settings import NotificationsSettings
from ekspora_notifications.store import DeliveryStore, NotificationsStore

logger = logging.getLogger(__name__)


def day_to_digest(now: datetime, zone: str, at: time) -> date | None:
    """The local day whose digest is due at `now`: yesterday, once the digest hour has passed."""
    local = now.astimezone(ZoneInfo(zone))
    return local.date() - timedelta(days=1) if local.time() >= at else None


def local_day(moment: datetime, zone: str) -> date:
    return moment.astimezone(ZoneInfo(zone)).date()


def readable(event_type: str) -> str:
    """ekspora.registry.msme.registered.v2 -> msme registered"""
    parts = event_type.split(".")
    return " ".join(parts[2:-1]).replace("_", " ") if len(parts) > 3 else event_type


class DailyDigest:
    def __init__(
        self,
        store: NotificationsStore,
        deliveries: DeliveryStore,
        notifier: Notifier,
        settings: NotificationsSettings,
    ) -> None:
        self.store, self.deliveries, self.notifier, self.settings = store, deliveries, notifier, settings
        self.clock = notifier.clock
        self.sent: set[tuple[str, date]] = set()

    def operators(self, region: str) -> Recipient:
        return Recipient(
            recipient=f"operator:{region}",
            region=region,
            name=f"Operator {region}",
            email=self.settings.operator_email(region),
            language=self.settings.operator_language,
            timezone=self.settings.operator_timezone,
            chain=("email",),
        )

    async def figures(self, region: str, day: date) -> dict[str, int]:
        zone = ZoneInfo(self.settings.operator_timezone)
        start = datetime.combine(day, time(0), tzinfo=zone)
        counts = {readable(t): n for t, n in sorted((await self.store.activity_on(region, day)).items())}
        end = start + timedelta(days=1)
        failed = await self.deliveries.failed_on(region, start.astimezone(UTC), end.astimezone(UTC))
        return counts | {"messages that could not be delivered": failed}

    async def send_due(self) -> None:
        """Called every minute or so; each region's digest of a day goes out once (the occasion
        key makes a second instance's or a restarted one's attempt a no-op)."""
        day = day_to_digest(self.clock.now(), self.settings.operator_timezone, self.settings.digest_at)
        if day is None:
            return
        for region in self.settings.regions:
            if (region, day) in self.sent:
                continue
            recipient = self.operators(region)
            message = digest_message(
                region, day, await self.figures(region, day), self.notifier.templates, recipient.language
            )
            occasion = Occasion(f"digest:{region}:{day.isoformat()}", "ekspora.digest.daily", region, self.clock.now())
            await self.notifier.notify(occasion, recipient, message)
            self.sent.add((region, day))
            logger.info("daily digest of %s for %s sent", region, day)
