"""collab's benchmark: ``python -m bench <scenario>`` (see bench/README.md and docs/performance.md)."""
