"""The optional native build: the hot modules of ``processors`` compiled with mypyc.

``scripts/build_native.py`` (run by ``make setup`` / ``make native``) compiles them into the
git-ignored ``.native/`` beside the packages and writes ``.native/stamp.json``: the SHA-256 of
every source it compiled or read types from. At import, ``processors/__init__.py`` calls
``activate``: the compiled modules are used only when every one of those files is unchanged, so a
developer's edit to ``engine.py`` runs at once (in pure Python, with a one-line warning on stderr
until the next build). ``LEADSTREAM_PURE_PYTHON=1`` forces pure Python.

Stdlib only, and cheap: it runs on every import of ``processors``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

# The modules compiled, in dependency order. The rules (pydantic models) stay Python; outcomes
# (backtest only) and the package's own __init__ / this loader too.
NATIVE_MODULES = (
    "processors.clock",
    "processors.ids",
    "processors.state",
    "processors.intent",
    "processors.fit",
    "processors.sla",
    "processors.identity",
    "processors.context",
    "processors.decisions",
    "processors.views",
    "processors.codec",
    "processors.engine",
)
LIB_NAME = "leadstream_native"  # mypyc's group name: the shared library is leadstream_native__mypyc
STAMP_FORMAT = 1
PURE_ENV = "LEADSTREAM_PURE_PYTHON"
REPO_ROOT = Path(__file__).resolve().parent.parent
NATIVE_DIR = REPO_ROOT / ".native"


@dataclass(frozen=True)
class Build:
    kind: str  # "native" or "pure"
    detail: str  # why pure, or what was compiled

    def __str__(self) -> str:
        return f"{self.kind} ({self.detail})"


def source_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def stale_reason(stamp: dict, root: Path) -> str | None:
    """Why the build described by ``stamp`` does not match the sources under ``root`` (None: it does)."""
    if stamp.get("format") != STAMP_FORMAT:
        return "stamp format changed"
    if stamp.get("ext_suffix") != sysconfig.get_config_var("EXT_SUFFIX"):
        return f"built for {stamp.get('ext_suffix')}, this Python is {sysconfig.get_config_var('EXT_SUFFIX')}"
    if tuple(stamp.get("modules", ())) != NATIVE_MODULES:
        return "the list of compiled modules changed"
    for rel, digest in stamp.get("sources", {}).items():
        try:
            current = source_digest(root / rel)
        except OSError:
            return f"{rel} is gone"
        if current != digest:
            return f"{rel} changed since it was built"
    return None


def _warn(reason: str) -> None:
    print(
        f"leadstream: native build not used ({reason}); running pure Python. Rebuild with `make native`.",
        file=sys.stderr,
    )


def activate(package_path: list[str], native_dir: Path = NATIVE_DIR, root: Path = REPO_ROOT) -> Build:
    """Put the compiled modules in front of the sources of ``processors`` when they are current."""
    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        return Build("pure", f"{PURE_ENV}={os.environ[PURE_ENV]}")
    stamp_path = native_dir / "stamp.json"
    try:
        stamp = json.loads(stamp_path.read_text())
    except FileNotFoundError:
        return Build("pure", "no native build")  # never built (or the build was skipped): silent
    except (OSError, ValueError) as exc:
        _warn(f"unreadable {stamp_path.name}: {exc}")
        return Build("pure", "unreadable stamp")
    reason = stale_reason(stamp, root)
    if reason is not None:
        _warn(reason)
        return Build("pure", f"stale native build: {reason}")
    lib = f"{LIB_NAME}__mypyc"
    try:
        if lib not in sys.modules:
            # The per-module shims import the shared library by this top-level name; loading it
            # here from its path keeps .native/ off sys.path.
            spec = importlib.util.spec_from_file_location(lib, native_dir / stamp["shared_lib"])
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load {stamp['shared_lib']}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[lib] = module
            spec.loader.exec_module(module)
    except (ImportError, OSError, KeyError) as exc:
        sys.modules.pop(lib, None)
        _warn(f"cannot load it: {exc}")
        return Build("pure", "native build failed to load")
    package_path.insert(0, str(native_dir / "processors"))
    return Build("native", f"mypyc {stamp.get('mypy', '?')}, {len(NATIVE_MODULES)} modules")
