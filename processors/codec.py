"""Engine state ⇄ bytes, for changelogged tables and snapshots.

Plain JSON (orjson) of the dataclasses, versioned, so state written by one release can be read
by the next. Derived fields (the fit cache) are not stored: they are recomputed on first use.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import orjson

from processors.state import AccountState, ContactState, Member, SlaClock, VisitorState

VERSION = 1
_SKIP = {"fit_cache"}


_NAMES: dict[type, tuple[str, ...]] = {}  # stored field names per state class (``fields`` is slow)


def _plain(obj: Any) -> dict[str, Any]:
    names = _NAMES.get(type(obj))
    if names is None:
        names = _NAMES[type(obj)] = tuple(f.name for f in fields(obj) if f.name not in _SKIP)
    return {name: getattr(obj, name) for name in names}


def dump_contact(c: ContactState) -> bytes:
    data = _plain(c)
    data["sla"] = _plain(c.sla) if c.sla else None
    if c.crm_confirmed:
        # Written only when False: a confirmed contact's record stays as it was before the flag.
        del data["crm_confirmed"]
    return orjson.dumps({"v": VERSION, "contact": data})


def load_contact(raw: bytes) -> ContactState:
    data = orjson.loads(raw)["contact"]
    # Records without the flag (all of them before it existed) behave as they always did: a
    # contact with a CRM id was kept, so it counts as confirmed.
    data.setdefault("crm_confirmed", True)
    data["window"] = [tuple(s) for s in data["window"]]
    data["profile"] = {k: tuple(v) for k, v in data["profile"].items()}
    data["sla"] = SlaClock(**data["sla"]) if data["sla"] else None
    return ContactState(**data)


def dump_visitor(v: VisitorState) -> bytes:
    return orjson.dumps({"v": VERSION, "visitor": _plain(v)})


def load_visitor(raw: bytes) -> VisitorState:
    data = orjson.loads(raw)["visitor"]
    data["pending"] = [tuple(s) for s in data["pending"]]
    return VisitorState(**data)


def dump_account(a: AccountState) -> bytes:
    data = _plain(a)
    data["members"] = {k: _plain(m) for k, m in a.members.items()}
    return orjson.dumps({"v": VERSION, "account": data})


def load_account(raw: bytes) -> AccountState:
    data = orjson.loads(raw)["account"]
    data["profile"] = {k: tuple(v) for k, v in data["profile"].items()}
    data["members"] = {k: Member(**m) for k, m in data["members"].items()}
    return AccountState(**data)
