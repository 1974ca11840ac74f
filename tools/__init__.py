"""Tooling around the runtime: the seeded workload generator, the replay and live benchmarks, the
demo, the ``leadstream worker`` subprocess launcher and memory probes.

Used by the CLI (``leadstream bench`` / ``leadstream demo``) and the tests. This package depends on
the runtime (``schemas``, ``streams``, ``processors``, ``sinks``), never the reverse: no runtime
module imports ``tools``.
"""
