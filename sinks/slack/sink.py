"""Alerts → Slack ``chat.postMessage``: channel by territory / owner, throttled per dedupe_key.

The throttle is a seen-set with a TTL: in Redis when configured (shared by every sink instance,
survives restarts), else in memory. Rate limits (HTTP 429 + Retry-After) are waited out.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from schemas import models
from sinks.base import ConfigurationError, PermanentError, RetryableError, RetryPolicy, retry, retry_after_seconds

# Slack Web API errors about the token or app, not the message (api.slack.com/methods/chat.postMessage).
TOKEN_ERRORS = frozenset(
    {
        "not_authed",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "team_access_not_granted",
    }
)
TITLES = {
    "buying_committee": ":busts_in_silhouette: Buying committee",
    "fast_track": ":zap: Fast-track lead",
    "sla_breach": ":rotating_light: SLA breached",
    "expansion": ":chart_with_upwards_trend: Expansion signal",
}


@dataclass
class ChannelMap:
    """Sink-side overrides; the rules already chose a channel by owner / territory."""

    default: str = "#leads"
    by_kind: dict[str, str] = field(default_factory=dict)

    def channel(self, alert: models.Alert) -> str:
        if alert.kind.value in self.by_kind:
            return self.by_kind[alert.kind.value]
        return alert.channel or self.default


class Throttle:
    """Has this dedupe_key been posted within ``ttl_s``? (Redis SET NX EX, or an in-memory map.)

    A key is first *claimed* for ``claim_s`` (long enough for a post and its retries), and held
    for the full ``ttl_s`` only once the post succeeded: a crash between claim and post lets the
    redelivered alert through after ``claim_s`` instead of swallowing it for the whole window.
    """

    def __init__(
        self,
        ttl_s: float,
        redis_url: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        claim_s: float = 900.0,
    ) -> None:
        self.ttl_s, self.claim_s, self.clock = ttl_s, min(claim_s, ttl_s), clock
        self.until: dict[str, float] = {}
        self.redis = None
        if redis_url:
            import redis

            self.redis = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)

    def _key(self, key: str) -> str:
        return f"leadstream:slack:{key}"

    def _call(self, fn: Callable[[], object]) -> object:
        import redis

        try:
            return fn()
        except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError) as exc:
            raise RetryableError(f"slack throttle store (redis) unavailable: {exc.__class__.__name__}") from None

    def first_time(self, key: str) -> bool:
        """Claim ``key`` unless it was posted (or is being posted) within the window."""
        if self.redis is not None:
            r = self.redis
            return bool(self._call(lambda: r.set(self._key(key), 1, nx=True, px=int(self.claim_s * 1000))))
        now = self.clock()
        if self.until.get(key, -1e18) > now:
            return False
        self.until[key] = now + self.claim_s
        return True

    def confirm(self, key: str) -> None:
        """The post landed: hold the key for the full throttle window."""
        if self.redis is not None:
            r = self.redis
            self._call(lambda: r.set(self._key(key), 1, px=int(self.ttl_s * 1000)))
        else:
            self.until[key] = self.clock() + self.ttl_s

    def forget(self, key: str) -> None:
        """A post that failed must not block a later retry of the same alert."""
        if self.redis is not None:
            r = self.redis
            self._call(lambda: r.delete(self._key(key)))
        else:
            self.until.pop(key, None)


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
            error = response.get("error")
            if response.status_code == 429 or error == "ratelimited":
                retry_after = response.headers.get("Retry-After") or response.headers.get("retry-after")
                raise RetryableError("slack ratelimited", retry_after_seconds(retry_after)) from None
            if response.status_code >= 500:
                raise RetryableError(f"slack error {response.status_code}") from None
            if error in TOKEN_ERRORS:  # every alert would fail alike: stop, do not dead-letter them all
                raise ConfigurationError(f"slack refused the token ({error}): check LEADSTREAM_SLACK_TOKEN") from None
            raise PermanentError(f"slack refused: {error}") from None
        except OSError as exc:  # connection refused / reset / timeout
            raise RetryableError(f"slack unreachable: {exc.__class__.__name__}") from None

    def write(self, batch: Sequence[models.Record]) -> None:
        for alert in batch:
            if not isinstance(alert, models.Alert) or not self.throttle.first_time(alert.dedupe_key):
                continue
            try:
                retry(partial(self._post, alert), self.policy)
            except (RetryableError, PermanentError, ConfigurationError):
                with contextlib.suppress(RetryableError):  # unclaimable now: the claim expires by itself
                    self.throttle.forget(alert.dedupe_key)
                raise
            self.throttle.confirm(alert.dedupe_key)
