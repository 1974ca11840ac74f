"""Java artifacts resolved from Maven Central with plain `mvn`, once, into the git-ignored cache.

Kafka's broker classpath and Apicurio's runnable distribution come from the poms in infra/maven/, so
no Docker image or tarball download is needed; a marker file makes later calls free and offline.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from infra.paths import MAVEN_DIR, cache_dir
from infra.proc import tail

KAFKA_VERSION = "3.9.1"
APICURIO_VERSION = "2.6.13.Final"
MARKER = ".complete"


class MavenError(RuntimeError):
    """mvn failed; the message carries the tail of its log."""


def kafka_jars_dir() -> Path:
    return cache_dir() / "jars" / f"kafka-{KAFKA_VERSION}"


def apicurio_dir() -> Path:
    return cache_dir() / "apicurio" / APICURIO_VERSION


def ensure_kafka_jars() -> Path:
    """Directory holding every jar of the Kafka broker (plus the reload4j logging backend)."""
    return _ensure(
        kafka_jars_dir(),
        MAVEN_DIR / "kafka-pom.xml",
        lambda out: ["dependency:copy-dependencies", f"-DoutputDirectory={out}"],
    )


def ensure_apicurio() -> Path:
    """Directory holding Apicurio's runner jar and its lib/ folder."""
    return _ensure(
        apicurio_dir(),
        MAVEN_DIR / "apicurio-pom.xml",
        lambda out: ["dependency:unpack", f"-Dapicurio.outputDirectory={out}"],
    )


def apicurio_runner_jar() -> Path:
    return ensure_apicurio() / f"apicurio-registry-app-{APICURIO_VERSION}-runner.jar"


def _ensure(dest: Path, pom: Path, goal_args) -> Path:
    if (dest / MARKER).exists():
        return dest
    with _lock(dest.parent / f".{dest.name}.lock"):
        if (dest / MARKER).exists():  # another process finished it while we waited
            return dest
        staging = dest.parent / f".{dest.name}.partial"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        log = dest.parent / f"{dest.name}.mvn.log"
        if shutil.which("mvn") is None:
            raise MavenError("`mvn` not found: run scripts/install-system-deps.sh (installs maven)")
        cmd = ["mvn", "-B", "-q", "-f", str(pom), *goal_args(staging)]
        with open(log, "wb") as out:
            rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=dest.parent).returncode
        if rc != 0:
            raise MavenError(f"{' '.join(cmd)} failed (exit {rc}); log {log}:\n{tail(log)}")
        shutil.rmtree(dest, ignore_errors=True)
        staging.rename(dest)
        (dest / MARKER).write_text(" ".join(cmd) + "\n")
    return dest


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
