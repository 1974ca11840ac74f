"""`python -m infra.prefetch`: resolve the Java artifacts now (Kafka jars, Apicurio) so that the first
`leadstream dev up`, test run or demo does not wait on Maven. Called by `make setup`."""

from __future__ import annotations

import time

from infra import jars


def main() -> None:
    for what, fn in (("kafka jars", jars.ensure_kafka_jars), ("apicurio registry", jars.ensure_apicurio)):
        t0 = time.monotonic()
        path = fn()
        print(f"{what}: {path} ({time.monotonic() - t0:.1f}s)")


if __name__ == "__main__":
    main()
