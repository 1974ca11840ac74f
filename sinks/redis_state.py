"""Serving state in Redis: current contact and account state for apps and sales tools.

Each contact / account is a hash with a TTL. Writes are idempotent and order-safe: a record older
than what Redis holds (a redelivery, a replay) never overwrites it; the check and the write are
one Lua script, so concurrent sink instances cannot interleave.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import orjson
import redis

from schemas import models
from sinks.base import RetryableError

PREFIX = "leadstream"
# KEYS[1] hash; ARGV[1] version (event time, ms); ARGV[2] ttl s; ARGV[3..] field, value pairs.
# Every field keeps its own version (``_v_<field>``): records about one contact come on different
# topics in any order, so a late, older contact.state must not undo a newer SLA status while its
# own newer fields still land. A tie rewrites the same value (a redelivery).
_NEWER_WINS = """
local version = tonumber(ARGV[1])
local written = 0
for i = 3, #ARGV, 2 do
  local seen = redis.call('HGET', KEYS[1], '_v_' .. ARGV[i])
  if not seen or tonumber(seen) <= version then
    redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1], '_v_' .. ARGV[i], version)
    written = written + 1
  end
end
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return written
"""


def contact_key(contact_id: str) -> str:
    return f"{PREFIX}:contact:{contact_id}"


def account_key(account_id: str) -> str:
    return f"{PREFIX}:account:{account_id}"


def _ms(record: models.Record) -> int:
    at = getattr(record, "updated_at", None) or record.occurred_at  # type: ignore[attr-defined]
    return int(at.timestamp() * 1000)


def _json(value: dict[str, object]) -> dict[str, str]:
    return {k: orjson.dumps(v).decode() for k, v in value.items()}


def _fields(record: models.Record) -> tuple[str, dict[str, str]] | None:
    """Which hash a record updates, with what (JSON values)."""
    if isinstance(record, models.ContactState):
        return contact_key(record.contact_id), _json(record.model_dump(mode="json"))
    if isinstance(record, models.AccountState):
        return account_key(record.account_id), _json(record.model_dump(mode="json"))
    if isinstance(record, models.Sla) and record.contact_id:
        return contact_key(record.contact_id), _json({"sla_status": record.status.value})
    if isinstance(record, models.Mql) and record.kind.value == "account" and record.account_id:
        committee = record.committee.model_dump(mode="json") if record.committee else None
        return account_key(record.account_id), _json({"last_mql_id": record.mql_id, "committee": committee})
    return None


class RedisStateSink:
    name = "redis"

    def __init__(self, url: str, ttl_s: int = 90 * 24 * 3600) -> None:
        self.client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self.ttl_s = ttl_s
        self._script = self.client.register_script(_NEWER_WINS)

    def write(self, batch: Sequence[models.Record]) -> None:
        try:
            pipe = self.client.pipeline(transaction=False)
            for record in batch:
                target = _fields(record)
                if target is None:
                    continue
                key, fields = target
                flat = [item for pair in fields.items() for item in pair]
                self._script(keys=[key], args=[_ms(record), self.ttl_s, *flat], client=pipe)
            pipe.execute()
        except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError) as exc:
            raise RetryableError(f"redis unavailable: {exc}") from exc

    def read(self, key: str) -> dict[str, object] | None:
        # The client is made without decode_responses, so names and values come back as bytes.
        raw = cast(dict[bytes, bytes], self.client.hgetall(key))
        if not raw:
            return None
        return {k.decode(): orjson.loads(v) for k, v in raw.items() if not k.startswith(b"_v_")}

    def read_contact(self, contact_id: str) -> dict[str, object] | None:
        return self.read(contact_key(contact_id))

    def read_account(self, account_id: str) -> dict[str, object] | None:
        return self.read(account_key(account_id))
