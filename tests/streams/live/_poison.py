"""A poison record for the live hostile tests, in test code only: once installed, deciding the
event whose id is ``POISON_EVENT`` raises inside the engine after it has started changing state
(the event is recorded as seen, the contact created, its visitor linked and the signal added to
its window, then the qualification raises).

A worker subprocess installs it before the CLI starts:
``python -c "import tests.streams.live._poison as p; p.install(); from leadstream.cli import main; main()" worker``
with ``LEADSTREAM_PURE_PYTHON=1``, so the engine's call goes through the patched module attribute
(the native build calls the compiled function directly and would bypass it).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from processors import decisions

POISON_EVENT = os.environ.get("LEADSTREAM_TEST_POISON_EVENT", "poison-1")
_real_qualify = decisions.qualify_contact


class PoisonError(RuntimeError):
    pass


def _qualify(engine: Any, contact: Any, account: Any, at: int, trigger: Any, *args: Any, **kwargs: Any) -> Any:
    if trigger is not None and trigger[3] == POISON_EVENT:
        raise PoisonError(f"poisoned decision for {POISON_EVENT}")
    return _real_qualify(engine, contact, account, at, trigger, *args, **kwargs)


def install() -> None:
    decisions.qualify_contact = _qualify


def uninstall() -> None:
    decisions.qualify_contact = _real_qualify


@contextlib.contextmanager
def installed() -> Iterator[None]:
    install()
    try:
        yield
    finally:
        uninstall()
