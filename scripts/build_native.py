"""Optional native build: compile the hot modules of processors/ with mypyc into .native/.

    .venv/bin/python scripts/build_native.py            # make native; make setup runs it too
    .venv/bin/python scripts/build_native.py --force    # rebuild even when up to date
    .venv/bin/python scripts/build_native.py --strict   # exit 1 when it cannot build (default: 0)

Never fails setup: without mypyc, a C compiler or the Python headers, or when mypyc or the
compiler fails, it prints one line and the project runs pure Python. It compiles a snapshot of
the sources (copied to a temporary directory first), so the stamp it writes is the hash of
exactly what was compiled; processors/_native.py uses the build only while the sources still
match that stamp. The full log of a failed build is kept in .run/native-build.log.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# This script only reads the loader's constants: importing processors must not try (and warn
# about) the build that is about to be replaced.
os.environ["LEADSTREAM_PURE_PYTHON"] = "1"

from processors._native import (  # noqa: E402  (after the path set-up above)
    LIB_NAME,
    NATIVE_DIR,
    NATIVE_MODULES,
    STAMP_FORMAT,
    source_digest,
    stale_reason,
)

PROJECT_PACKAGES = ("processors", "schemas")
LOG = ROOT / ".run" / "native-build.log"
BUILD_TIMEOUT_S = 20 * 60

SETUP_PY = """\
import sys
from setuptools import setup
from mypyc.build import mypycify

setup(
    name="leadstream-native",
    ext_modules=mypycify(
        {paths!r} + ["--follow-imports=silent", "--cache-dir", ".mypy_cache"],
        opt_level="3",
        group_name={group!r},
    ),
    script_args=["build_ext", "--build-lib", "out", "--build-temp", "tmp"],
)
"""


def module_file(module: str) -> Path:
    """processors.engine -> processors/engine.py (or a package's __init__.py)."""
    base = Path(*module.split("."))
    return base.with_suffix(".py") if (ROOT / base.with_suffix(".py")).is_file() else base / "__init__.py"


def _imports(path: Path, module: str) -> set[str]:
    """Project modules ``path`` imports (TYPE_CHECKING imports included: mypy reads them too)."""
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] not in PROJECT_PACKAGES:
                continue
            for i in range(1, len(parts) + 1):  # a package and its parents run their __init__
                candidate = ".".join(parts[:i])
                if (ROOT / module_file(candidate)).is_file():
                    found.add(candidate)
    return found


def sources() -> list[str]:
    """Every project file the build reads: the compiled modules and, transitively, what they import."""
    todo, seen = list(NATIVE_MODULES), set(NATIVE_MODULES)
    while todo:
        module = todo.pop()
        for dep in _imports(ROOT / module_file(module), module):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return sorted(str(module_file(m)) for m in seen)


def current_reason() -> str | None:
    """Why .native/ needs a (re)build, or None when it is current."""
    try:
        stamp = json.loads((NATIVE_DIR / "stamp.json").read_text())
    except (OSError, ValueError):
        return "not built"
    if sorted(stamp.get("sources", {})) != sources():
        return "the set of sources changed"
    return stale_reason(stamp, ROOT)


def missing_toolchain() -> str | None:
    try:
        import mypy.version  # noqa: F401
        import mypyc.build  # noqa: F401
        import setuptools  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (pip install -e '.[dev]')"
    cc = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")[0]
    if shutil.which(cc) is None:
        return f"no C compiler ({cc})"
    include = Path(sysconfig.get_paths()["include"])
    if not (include / "Python.h").is_file():
        return f"no Python headers ({include}/Python.h; python3-dev)"
    return None


def build(files: list[str]) -> Path:
    """Compile a snapshot of ``files`` in a temporary directory; returns the staged .native dir."""
    import mypy.version

    work = Path(tempfile.mkdtemp(prefix="leadstream-native-"))
    try:
        for rel in files:
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, work / rel)
        digests = {rel: source_digest(work / rel) for rel in files}
        compiled = [str(module_file(m)) for m in NATIVE_MODULES]
        (work / "setup.py").write_text(SETUP_PY.format(paths=compiled, group=LIB_NAME))
        LOG.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONPATH": str(work), "PYTHONDONTWRITEBYTECODE": "1"}
        with LOG.open("w") as log:
            proc = subprocess.run(
                [sys.executable, "setup.py"],
                cwd=work,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=BUILD_TIMEOUT_S,
            )
        if proc.returncode != 0:
            raise BuildError(f"mypyc failed ({_first_error()}); full log in {LOG.relative_to(ROOT)}")
        out = work / "out"
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        shared = f"{LIB_NAME}__mypyc{suffix}"
        expected = [shared] + [str(Path(*m.split("."))) + suffix for m in NATIVE_MODULES]
        missing = [p for p in expected if not (out / p).is_file()]
        if missing:
            raise BuildError(f"mypyc did not produce {missing[0]}; full log in {LOG.relative_to(ROOT)}")
        staged = Path(tempfile.mkdtemp(prefix=".native-", dir=ROOT))
        for rel in expected:
            (staged / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(out / rel, staged / rel)
        stamp = {
            "format": STAMP_FORMAT,
            "ext_suffix": suffix,
            "python": sys.version.split()[0],
            "mypy": mypy.version.__version__,
            "modules": list(NATIVE_MODULES),
            "shared_lib": shared,
            "sources": digests,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (staged / "stamp.json").write_text(json.dumps(stamp, indent=2) + "\n")
        return staged
    finally:
        shutil.rmtree(work, ignore_errors=True)


class BuildError(Exception):
    pass


def _first_error() -> str:
    try:
        lines = LOG.read_text(errors="replace").splitlines()
    except OSError:
        return "no log"
    for line in lines:
        if ": error:" in line or "error:" in line.lower():
            return line.strip()[:200]
    return lines[-1].strip()[:200] if lines else "no output"


def _loads(staged: Path) -> str | None:
    """Import the staged build in a fresh interpreter over a copy of the packages: None when it works."""
    check = Path(tempfile.mkdtemp(prefix="leadstream-native-check-"))
    try:
        for package in PROJECT_PACKAGES:
            shutil.copytree(ROOT / package, check / package, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(staged, check / ".native")
        code = (
            "import processors, processors.engine as e; "
            "assert processors.BUILD.kind == 'native', processors.BUILD; "
            "assert not e.__file__.endswith('.py'), e.__file__"
        )
        env = {**os.environ, "PYTHONPATH": str(check), "PYTHONDONTWRITEBYTECODE": "1"}
        env.pop("LEADSTREAM_PURE_PYTHON", None)
        proc = subprocess.run([sys.executable, "-c", code], cwd=check, env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            return (proc.stderr.strip().splitlines() or ["no output"])[-1][:200]
        return None
    finally:
        shutil.rmtree(check, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even when the build is current")
    parser.add_argument("--strict", action="store_true", help="exit 1 when the native build cannot be made")
    args = parser.parse_args()

    def skipped(why: str) -> int:
        print(f"native build: skipped, running pure Python: {why}", flush=True)
        return 1 if args.strict else 0

    reason = "forced" if args.force else current_reason()
    if reason is None:
        print("native build: up to date (.native/)", flush=True)
        return 0
    problem = missing_toolchain()
    if problem is not None:
        return skipped(problem)
    start = time.perf_counter()
    print(f"native build: compiling {len(NATIVE_MODULES)} modules of processors/ with mypyc ({reason})...", flush=True)
    files = sources()
    try:
        staged = build(files)
    except BuildError as exc:
        return skipped(str(exc))
    except subprocess.TimeoutExpired:
        return skipped(f"mypyc took longer than {BUILD_TIMEOUT_S} s; log in {LOG.relative_to(ROOT)}")
    except OSError as exc:
        return skipped(f"{exc}")
    try:
        broken = _loads(staged)
        if broken is not None:
            return skipped(f"the compiled modules do not import: {broken}")
        # Replace the old build: remove it first, so a crash in between leaves no build, never a
        # mismatched one (the loader needs stamp.json, written into the staged copy last).
        shutil.rmtree(NATIVE_DIR, ignore_errors=True)
        staged.chmod(0o755)
        staged.rename(NATIVE_DIR)
    except OSError as exc:  # e.g. another build put its .native/ there first
        return skipped(f"cannot install the build in {NATIVE_DIR.name}/: {exc}")
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    print(f"native build: done in {time.perf_counter() - start:.0f} s (.native/)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
