"""What makes a ``python -m bench bignote`` run fail, without running one."""

from __future__ import annotations

from typing import Any

from bench.bignote.tables import problems


def memory(**over: Any) -> dict[str, Any]:
    return {"memory": {"joins": 100, "handled": 100, "dropped_slow": 0, "server_alive": True, **over}}


def test_a_deaf_client_dropped_after_some_joins_is_the_byte_bound_working() -> None:
    assert problems(memory(handled=7, dropped_slow=1)) == []


def test_joins_neither_handled_nor_refused_fail_the_run() -> None:
    assert problems(memory(handled=7)) == ["memory: 7/100 joins handled, not dropped (0), server alive True"]


def test_a_server_that_died_fails_the_run() -> None:
    assert problems(memory(server_alive=False)) != []
