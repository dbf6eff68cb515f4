"""A site's storage quota and a visitor's hourly message budget, as pure rules."""

from __future__ import annotations

import pytest

from engine.chat import limits
from engine.chat.limits import Limits, MessageBudget, over_quota


def test_the_quota_refuses_at_and_over_it() -> None:
    assert over_quota(99, 100) is None
    refusal = over_quota(100, 100)
    assert refusal is not None and refusal.code == "quota_exceeded" and not refusal.retryable
    assert over_quota(10**12, 0) is None  # 0: no quota


def test_the_budget_refills_over_the_hour_and_says_when() -> None:
    budget = MessageBudget(per_hour=60)  # one a minute, 60 at once
    assert [budget.spend("v1", 0.0) for _ in range(60)] == [0.0] * 60
    wait = budget.spend("v1", 0.0)
    assert wait == pytest.approx(60.0)
    refusal = budget.refusal(wait, "c1")
    assert (refusal.code, refusal.retryable, refusal.client_msg_id) == ("rate_limited", True, "c1")
    assert "retry in 60 s" in refusal.message
    assert budget.spend("v1", 30.0) == pytest.approx(30.0)  # half a token back
    assert budget.spend("v1", 60.0) == 0.0  # a whole one
    assert budget.spend("v2", 0.0) == 0.0  # each visitor has their own
    assert MessageBudget(0).spend("v1", 0.0) == 0.0  # 0: no budget


def test_visitors_with_a_whole_budget_are_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "MAX_TRACKED", 10)
    budget = MessageBudget(per_hour=3600)  # refills one a second
    for i in range(10):
        budget.spend(f"old{i}", 0.0)
    budget.spend("busy", 0.0)
    assert len(budget) == 11  # swept, but nobody's budget is whole again yet
    budget = MessageBudget(per_hour=3600)
    for i in range(10):
        budget.spend(f"old{i}", 0.0)
    for _ in range(5):
        budget.spend("busy", 2.0)
    budget.spend("new", 2.0)  # the table is full: the refilled ones go
    assert len(budget) == 2


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="site_quota_bytes"):
        Limits(site_quota_bytes=-1)
    with pytest.raises(ValueError, match="visitor_messages_per_hour"):
        Limits(visitor_messages_per_hour=-1)
