"""A lean HTTP request-header parser for gevent's WSGI server.

gevent's ``pywsgi`` parses every request's headers with :func:`http.client.parse_headers`,
which runs them through the :mod:`email` package's feed parser: about a tenth of the server's
CPU when clients long-poll (each poll is a request). :class:`Headers` reads the same lines
with the same limits and offers what ``pywsgi``, gevent-websocket and collab read of
``handler.headers``, for a fraction of the cost (see docs/performance.md, "Long-polling").

No I/O of its own beyond reading the header lines from the file it is given.
"""

from __future__ import annotations

from collections.abc import Iterator
from http.client import HTTPException
from typing import IO

#: The same limits as :mod:`http.client`: one header line, and header lines per request.
MAX_LINE = 65536
MAX_HEADERS = 100

_END = (b"\r\n", b"\n", b"")


class Headers:
    """A request's header fields, as ``pywsgi.WSGIHandler.headers`` is read.

    ``get`` and ``getheader`` are case-insensitive and return the first field of a name,
    as :class:`email.message.Message` does; ``headers`` lists every field as a
    ``"Name: value\\r\\n"`` line, which ``WSGIHandler.get_environ`` turns into
    ``HTTP_*`` keys (repeated fields joined with commas there).
    """

    __slots__ = ("_fields", "_first", "status")

    def __init__(self, fields: list[tuple[str, str]], status: str = "") -> None:
        self._fields = fields
        self._first: dict[str, str] = {}
        for name, value in fields:
            self._first.setdefault(name.lower(), value)
        #: Non-empty when the request's header block is invalid (pywsgi then answers 400).
        self.status = status

    @classmethod
    def read(cls, fp: IO[bytes]) -> Headers:
        """Read header lines from ``fp`` up to and including the blank line that ends them.

        A line longer than :data:`MAX_LINE` gives ``status = "Line too long"`` (as gevent's
        own parser); more than :data:`MAX_HEADERS` lines raise :class:`http.client.HTTPException`
        and a line that is no header field raises :class:`ValueError`: pywsgi answers
        both with 400 Bad Request.
        """
        fields: list[tuple[str, str]] = []
        count = 0
        while True:
            line = fp.readline(MAX_LINE + 1)
            if len(line) > MAX_LINE:
                return cls([], "Line too long")
            count += 1
            if count > MAX_HEADERS:
                raise HTTPException(f"got more than {MAX_HEADERS} headers")
            if line in _END:
                return cls(fields)
            text = line.decode("latin-1")
            if text[0] in " \t":  # obsolete line folding: continues the previous field
                if not fields:
                    raise ValueError("a request's first header line is a continuation line")
                name, value = fields[-1]
                fields[-1] = (name, f"{value} {text.strip()}")
                continue
            name, colon, value = text.partition(":")
            if not colon or not name or name != name.strip():
                raise ValueError(f"not an HTTP header field: {text.rstrip()!r}")
            fields.append((name, value.strip()))

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first field called ``name`` (any case), else ``default``."""
        return self._first.get(name.lower(), default)

    getheader = get

    def __delitem__(self, name: str) -> None:
        name = name.lower()
        self._fields = [(k, v) for k, v in self._fields if k.lower() != name]
        self._first.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._first

    def items(self) -> list[tuple[str, str]]:
        """Every field as ``(name, value)``, in request order."""
        return list(self._fields)

    @property
    def headers(self) -> Iterator[str]:
        """Every field as a ``"Name: value\\r\\n"`` line, in request order."""
        return (f"{k}: {v}\r\n" for k, v in self._fields)

    @property
    def typeheader(self) -> str | None:
        """The Content-Type field, or None."""
        return self.get("content-type")
