"""Token buckets: refusing (take) and pacing (owe)."""

from __future__ import annotations

import pytest

from collab.limits import TokenBucket


def test_take_refuses_past_the_burst_and_refills_with_time() -> None:
    b = TokenBucket(rate=2, burst=3, now=0)
    assert [b.take(0) for _ in range(4)] == [True, True, True, False]
    assert b.take(0.5) and not b.take(0.5)


def test_owe_spends_past_zero_and_says_how_long_the_debt_takes_to_pay() -> None:
    b = TokenBucket(rate=1_000_000, burst=1_500_000, now=0)
    assert b.owe(0, 1_000_000) == 0.0  # within the burst: no wait
    assert b.owe(0, 1_000_000) == pytest.approx(0.5)  # 0.5 MB short at 1 MB/s
    assert b.owe(0, 1_000_000) == pytest.approx(1.5)  # debts add up
    assert b.owe(2.0, 0) == 0.0  # two seconds later it is paid, with 0.5 MB to spare
    assert b.tokens == pytest.approx(500_000)


def test_owe_of_a_bucket_without_rate_never_waits() -> None:
    assert TokenBucket(rate=0, burst=0, now=0).owe(0, 10) == 0.0
