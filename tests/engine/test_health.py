"""The health rules, over plain numbers."""

from engine.health import DEGRADED, OVERLOADED, SERVING, STOPPING, Load, judge


def test_serving_has_no_reason() -> None:
    assert judge(Load()) == (SERVING, "")


def test_each_rule_says_why() -> None:
    cases = [
        (Load(stopping=True), STOPPING, "stop"),
        (Load(mailbox_kind="queue", mailbox_depth=60, mailbox_capacity=100), OVERLOADED, "queue"),
        (Load(queued_writes=60_000), OVERLOADED, "writes"),
        (Load(visitor_websockets=950, descriptor_limit=1000), OVERLOADED, "open files"),
        (Load(store_used_bytes=10 << 30, store_left_bytes=10 << 20), DEGRADED, "store"),
        (Load(index_lag=20_000), DEGRADED, "history index"),
        (Load(index_failure="the history index's process exited with code 1"), DEGRADED, "code 1"),
        (Load(outbox_retrying=500), DEGRADED, "outbox"),
    ]
    for load, state, word in cases:
        health, reason = judge(load)
        assert health == state and word in reason, (load, health, reason)


def test_overload_is_said_before_a_degraded_part() -> None:
    load = Load(queued_writes=60_000, index_lag=20_000)
    assert judge(load)[0] == OVERLOADED
