"""Exports (SVG, PNG, thumbnails) off the event loop: bounded in number, cached by what they show.

Drawing a big note takes seconds of CPU. Each export runs in a worker thread
(``Runtime.blocking``), at most ``COLLAB_EXPORT_WORKERS`` at once: one more is
refused with 503 and ``Retry-After`` rather than queued behind the others, so
exports never hold up the ops of other clients. What an export shows depends
only on the note's incarnation (epoch), the seq drawn, the format and the
width, so finished exports are kept in a small cache (``COLLAB_EXPORT_CACHE_BYTES``)
under that key; its ETag is the same key.
"""

from __future__ import annotations

import hashlib
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from .errors import StoreUnavailable

#: What a file name may not hold on common systems (path separators, reserved, control characters).
_UNSAFE = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
#: RFC 5987 ``attr-char`` besides letters and digits: kept as they are in ``filename*``.
_ATTR_CHARS = "!#$&+-.^_`|~"

#: Bumped when the drawing code changes what an export looks like (old ETags and cache entries then miss).
EXPORT_VERSION = 2


class Busy(StoreUnavailable):
    """Every export worker is busy (HTTP 503 with ``Retry-After``)."""

    retry_after = 2


def etag(note: str, epoch: str, seq: int, fmt: str, width: int | None) -> str:
    """The ETag of an export: the hash of everything it depends on."""
    raw = f"{note}/{epoch}/{seq}/{fmt}/{width or ''}/{EXPORT_VERSION}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def file_name(title: str, note: str, ext: str) -> str:
    """The download name of an export: the note's title (its letters kept, whatever script), else its id.

    The page's export links compute the same name (``exportFileName`` in ``static/js/config.js``).
    """
    stem = " ".join(_UNSAFE.sub(" ", unicodedata.normalize("NFC", title)).split())[:100].strip()
    return f"{stem or note}.{ext}"


def content_disposition(title: str, note: str, ext: str) -> str:
    """``attachment`` with an ASCII ``filename`` fallback and the real name in ``filename*`` (RFC 6266, 5987)."""
    name = file_name(title, note, ext)
    stem = name[: -len(ext) - 1]
    plain = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    fallback = f"{' '.join(plain.split()) or note}.{ext}"  # _UNSAFE already took quotes and backslashes
    value = f'attachment; filename="{fallback}"'
    if fallback != name:
        value += f"; filename*=UTF-8''{quote(name, safe=_ATTR_CHARS)}"
    return value


class Exports:
    """The export workers' bound and the cache of finished exports of one app."""

    def __init__(self, workers: int, cache_bytes: int) -> None:
        self._slots = threading.BoundedSemaphore(max(1, workers))
        self.workers = max(1, workers)
        self.cache_bytes = cache_bytes
        self._cache: OrderedDict[str, bytes | str] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, tag: str) -> bytes | str | None:
        """A cached export, or ``None``."""
        with self._lock:
            body = self._cache.get(tag)
            if body is not None:
                self._cache.move_to_end(tag)
            return body

    def render(
        self, tag: str, draw: Callable[[], tuple[str, bytes | str]], blocking: Callable[..., Any]
    ) -> tuple[str, bytes | str]:
        """``(tag, body)`` of the export ``tag``: from the cache, or drawn by ``draw`` in a worker, then cached.

        ``draw`` returns the tag of what it drew with the body: the note may have
        moved on since ``tag`` was made, and an entry is kept under what it shows.
        """
        cached = self.get(tag)
        if cached is not None:
            return tag, cached
        if not self._slots.acquire(blocking=False):
            raise Busy(f"all {self.workers} export workers are busy; retry in a moment")
        try:
            drawn, body = blocking(draw)
        finally:
            self._slots.release()
        self._keep(drawn, body)
        return drawn, body

    def _keep(self, tag: str, body: bytes | str) -> None:
        size = len(body)
        if size > self.cache_bytes // 4:
            return  # one export may not take the cache for itself
        with self._lock:
            if tag in self._cache:
                return
            self._cache[tag] = body
            self._size += size
            while self._size > self.cache_bytes and self._cache:
                _, old = self._cache.popitem(last=False)
                self._size -= len(old)
