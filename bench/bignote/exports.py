"""Export and thumbnail times: ``GET /api/notes/<id>.png``, ``.png?width=240``, ``.svg``, and 304s.

For each note and export the first request is *cold* (the first time the server draws
that export since it started) and the next ``warm`` ones are *warm* (median). Then the
same URL with ``If-None-Match: <its ETag>`` must answer 304 without drawing.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

EXPORTS = (("png", ".png"), ("png 240 px", ".png?width=240"), ("svg", ".svg"))


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[float, Any]:
    import requests

    t0 = time.perf_counter()
    resp = requests.get(url, headers=headers, timeout=300)
    _ = resp.content
    return time.perf_counter() - t0, resp


def measure(base_url: str, notes: dict[int, str], warm: int) -> list[dict[str, Any]]:
    """One row per note size and export: cold and warm ms, bytes, statuses, the 304's ms."""
    rows = []
    for size, note in notes.items():
        for label, suffix in EXPORTS:
            url = f"{base_url}/api/notes/{note}{suffix}"
            cold, first = _get(url)
            warm_s = [_get(url)[0] for _ in range(warm)]
            etag = first.headers.get("ETag")
            row: dict[str, Any] = {
                "size": size,
                "export": label,
                "status": first.status_code,
                "bytes": len(first.content),
                "cold_ms": cold * 1000,
                "warm_ms": statistics.median(warm_s) * 1000 if warm_s else None,
                "etag": etag,
            }
            if etag:
                nm_s, nm = _get(url, {"If-None-Match": etag})
                row.update(not_modified_status=nm.status_code, not_modified_ms=nm_s * 1000)
            rows.append(row)
    return rows
