"""The few concurrency primitives collab needs, for each async mode.

Socket.IO's engine already knows how to make queues, events and background
tasks for the mode it runs in; the one thing it lacks is "run this blocking
call in a real OS thread" so that SQLite and psycopg calls never stall the
gevent or eventlet hub. :class:`Runtime` adds that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

ASYNC_MODES = ("gevent", "eventlet", "threading", "gevent_uwsgi")


class Runtime:
    """Async-mode-aware helpers bound to one Engine.IO server."""

    def __init__(self, eio_server: Any, threads: int = 4) -> None:
        self.mode: str = eio_server.async_mode
        self._eio = eio_server
        self._pool: Any = None
        if self.mode in ("gevent", "gevent_uwsgi"):
            from gevent.threadpool import ThreadPool

            self._pool = ThreadPool(threads)

    def spawn(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Start ``fn(*args)`` as a background task of the async mode."""
        return self._eio.start_background_task(fn, *args)

    def event(self) -> Any:
        """A new event object with ``set``, ``wait(timeout)`` and ``is_set``."""
        return self._eio.create_event()

    def queue(self) -> Any:
        """A new unbounded FIFO queue of the async mode."""
        return self._eio.create_queue()

    @property
    def queue_empty(self) -> type[BaseException]:
        """The exception the mode's queue raises when ``get`` finds nothing."""
        return self._eio.get_queue_empty_exception()  # type: ignore[no-any-return]

    def sleep(self, seconds: float) -> None:
        """Sleep without blocking other tasks."""
        self._eio.sleep(seconds)

    def blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking call (database I/O) without stalling the event loop."""
        if self._pool is not None:
            return self._pool.apply(fn, args)  # type: ignore[no-any-return]
        if self.mode == "eventlet":
            from eventlet import tpool

            return tpool.execute(fn, *args)  # type: ignore[no-any-return]
        return fn(*args)

    def close(self) -> None:
        """Stop the worker threads."""
        if self._pool is not None:
            self._pool.kill()
            self._pool = None
