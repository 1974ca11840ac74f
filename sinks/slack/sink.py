"""Alerts → Slack ``chat.postMessage``: channel by territory / owner, throttled per dedupe_key.

The throttle is a seen-set with a TTL: in Redis when configured (shared by every sink instance,
survives restarts), else in memory. Rate limits (HTTP 429 + Retry-After) are waited out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from schemas import models
from sinks.base import PermanentError, RetryableError, RetryPolicy, retry

TITLES = {
    "buying_committee": ":busts_in_silhouette: Buying committee",
    "fast_track": ":zap: Fast-track lead",
    "sla_breach": ":rotating_light: SLA breached",
    "expansion": ":chart_with_upwards_trend: Expansion signal",
}


@dataclass
class ChannelMap:
    default: str = "#leads"
    by_owner: dict[str, str] = field(default_factory=dict)
    by_kind: dict[str, str] = field(default_factory=dict)

    def channel(self, alert: models.Alert, owner: str | None = None) -> str:
        if owner and owner in self.by_owner:
            return self.by_owner[owner]
        if alert.kind.value in self.by_kind:
            return self.by_kind[alert.kind.value]
        return alert.channel or self.default  # the rules chose it by territory


class Throttle:
    """Has this dedupe_key been posted within ``ttl_s``? (Redis SET NX EX, or an in-memory map.)"""

    def __init__(self, ttl_s: float, redis_url: str | None = None, clock: Callable[[], float] = time.monotonic):
        self.ttl_s, self.clock = ttl_s, clock
        self.seen: dict[str, float] = {}
        self.redis = None
        if redis_url:
            import redis

            self.redis = redis.Redis.from_url(redis_url)

    def first_time(self, key: str) -> bool:
        if self.redis is not None:
            return bool(self.redis.set(f"leadstream:slack:{key}", 1, nx=True, ex=int(self.ttl_s)))
        now = self.clock()
        if now - self.seen.get(key, -1e18) < self.ttl_s:
            return False
        self.seen[key] = now
        return True

    def forget(self, key: str) -> None:
        """A post that failed for good must not block a later retry of the same alert."""
        if self.redis is not None:
            self.redis.delete(f"leadstream:slack:{key}")
        else:
            self.seen.pop(key, None)


def blocks(alert: models.Alert) -> list[dict]:
    context = [f"*{alert.kind.value}*"]
    if alert.account_id:
        context.append(f"account `{alert.account_id}`")
    if alert.contact_id:
        context.append(f"contact `{alert.contact_id}`")
    context.append(alert.occurred_at.strftime("%Y-%m-%d %H:%M UTC"))
    return [
        {"type": "header", "text": {"type": "plain_text", "text": TITLES.get(alert.kind.value, alert.kind.value)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": alert.text}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]},
    ]


class SlackAlertSink:
    name = "slack"

    def __init__(
        self,
        token: str,
        base_url: str = "https://slack.com/api/",
        channels: ChannelMap | None = None,
        throttle: Throttle | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.client = WebClient(token=token, base_url=base_url, timeout=10)
        self.channels = channels or ChannelMap()
        self.throttle = throttle or Throttle(ttl_s=6 * 3600)
        self.policy = policy or RetryPolicy()

    def _post(self, alert: models.Alert) -> None:
        try:
            self.client.chat_postMessage(channel=self.channels.channel(alert), text=alert.text, blocks=blocks(alert))
        except SlackApiError as exc:
            response = exc.response
            if response.status_code == 429 or response.get("error") == "ratelimited":
                retry_after = response.headers.get("Retry-After") or response.headers.get("retry-after")
                raise RetryableError("slack ratelimited", float(retry_after) if retry_after else None) from None
            if response.status_code >= 500:
                raise RetryableError(f"slack error {response.status_code}") from None
            raise PermanentError(f"slack refused: {response.get('error')}") from None
        except OSError as exc:  # connection refused / reset / timeout
            raise RetryableError(f"slack unreachable: {exc.__class__.__name__}") from None

    def write(self, batch: Sequence[models.Record]) -> None:
        for alert in batch:
            if not isinstance(alert, models.Alert) or not self.throttle.first_time(alert.dedupe_key):
                continue
            try:
                retry(lambda alert=alert: self._post(alert), self.policy)
            except (RetryableError, PermanentError):
                self.throttle.forget(alert.dedupe_key)
                raise
