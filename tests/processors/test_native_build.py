"""The native (mypyc) build is used only while the sources match what was compiled."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import processors
from processors import _native
from processors._native import LIB_NAME, NATIVE_DIR, NATIVE_MODULES, PURE_ENV, REPO_ROOT, activate, source_digest

LIB = f"{LIB_NAME}__mypyc"


@pytest.fixture
def fake_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A source tree and a build stamped with its hashes; the 'shared library' is a plain module."""
    monkeypatch.delenv(PURE_ENV, raising=False)
    monkeypatch.delitem(sys.modules, LIB, raising=False)
    root = tmp_path / "repo"
    (root / "processors").mkdir(parents=True)
    (root / "processors" / "engine.py").write_text("ANSWER = 42\n")
    native = root / ".native"
    (native / "processors").mkdir(parents=True)
    (native / "fake_lib.py").write_text("")
    stamp = {
        "format": _native.STAMP_FORMAT,
        "ext_suffix": sysconfig.get_config_var("EXT_SUFFIX"),
        "mypy": "test",
        "modules": list(NATIVE_MODULES),
        "shared_lib": "fake_lib.py",
        "sources": {"processors/engine.py": source_digest(root / "processors" / "engine.py")},
    }
    (native / "stamp.json").write_text(json.dumps(stamp))
    return root, native


def test_current_sources_put_the_compiled_modules_first(fake_build: tuple[Path, Path]) -> None:
    root, native = fake_build
    path = [str(root / "processors")]
    build = activate(path, native, root)
    assert build.kind == "native"
    assert path == [str(native / "processors"), str(root / "processors")]


def test_a_changed_source_falls_back_to_pure_python_with_one_warning(
    fake_build: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root, native = fake_build
    (root / "processors" / "engine.py").write_text("ANSWER = 43\n")
    path = [str(root / "processors")]
    build = activate(path, native, root)
    assert build.kind == "pure"
    assert path == [str(root / "processors")]  # the sources only
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "processors/engine.py changed" in err and "pure Python" in err


def test_a_deleted_source_or_another_python_falls_back(fake_build: tuple[Path, Path]) -> None:
    root, native = fake_build
    stamp = json.loads((native / "stamp.json").read_text())
    (native / "stamp.json").write_text(json.dumps({**stamp, "ext_suffix": ".cpython-399-x.so"}))
    assert activate([], native, root).kind == "pure"
    (native / "stamp.json").write_text(json.dumps(stamp))
    (root / "processors" / "engine.py").unlink()
    assert activate([], native, root).kind == "pure"


def test_no_build_is_pure_python_silently(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PURE_ENV, raising=False)
    assert activate([], tmp_path / ".native", tmp_path).detail == "no native build"
    assert capsys.readouterr().err == ""


def test_the_environment_forces_pure_python(fake_build: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    root, native = fake_build
    monkeypatch.setenv(PURE_ENV, "1")
    path: list[str] = []
    assert activate(path, native, root).kind == "pure"
    assert path == []


def _run(root: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != PURE_ENV}
    env["PYTHONPATH"] = str(root)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True)


@pytest.mark.skipif(processors.BUILD.kind != "native", reason=f"no current native build ({processors.BUILD})")
def test_an_edited_module_runs_at_once_instead_of_the_stale_binary(tmp_path: Path) -> None:
    """The real build, copied with the sources: an edit to engine.py takes effect immediately."""
    for package in ("processors", "schemas"):
        shutil.copytree(REPO_ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(NATIVE_DIR, tmp_path / ".native")
    probe = (
        "import processors, processors.engine as e; "
        "print(processors.BUILD.kind, e.__file__.endswith('.py'), getattr(e, 'EDITED', None))"
    )

    ran = _run(tmp_path, probe)
    assert ran.stdout.split() == ["native", "False", "None"]
    assert ran.stderr == ""

    with (tmp_path / "processors" / "engine.py").open("a") as fh:
        fh.write("\nEDITED = 'yes'\n")
    ran = _run(tmp_path, probe)
    assert ran.stdout.split() == ["pure", "True", "yes"]
    assert "processors/engine.py changed since it was built" in ran.stderr
