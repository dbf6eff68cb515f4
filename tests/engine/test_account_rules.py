"""The rules the RPC handlers used to hold, as pure functions tested directly."""

from __future__ import annotations

import pytest

from engine.chat.account import online_per_department
from engine.chat.permissions import (
    BUILTIN_ROLES,
    CHAT,
    MANAGE_DEPARTMENTS,
    MANAGE_TEMPLATES,
    check_appoint,
    check_line,
    check_manage,
    check_shared_templates,
    require,
)
from engine.chat.records import Operator
from engine.errors import PermissionDenied

OWNER, ADMIN, OPERATOR = BUILTIN_ROLES["owner"], BUILTIN_ROLES["admin"], BUILTIN_ROLES["operator"]
TRAINEE = frozenset({CHAT})


def test_require_names_the_role_and_what_it_may_not_do() -> None:
    require(OPERATOR, "operator", CHAT)
    with pytest.raises(PermissionDenied, match="the trainee role may not manage templates"):
        require(TRAINEE, "trainee", MANAGE_TEMPLATES)


def test_only_an_owner_makes_an_owner_and_nobody_gives_more_than_they_hold() -> None:
    check_appoint("owner", OWNER, "owner", OWNER)
    check_appoint("admin", ADMIN, "admin", ADMIN)
    check_appoint("operator", OPERATOR, "trainee", TRAINEE)
    with pytest.raises(PermissionDenied, match="only an owner may add an owner"):
        check_appoint("admin", ADMIN, "owner", OWNER)
    with pytest.raises(PermissionDenied, match="the admin role holds more than yours"):
        check_appoint("operator", OPERATOR, "admin", ADMIN)
    with pytest.raises(PermissionDenied, match="chat"):
        check_appoint("viewer", frozenset(), "trainee", TRAINEE)


def test_one_acts_on_a_colleague_only_holding_all_it_holds() -> None:
    check_manage("owner", OWNER, "owner", OWNER)
    check_manage("admin", ADMIN, "operator", OPERATOR)
    check_manage("admin", ADMIN, "trainee", TRAINEE)
    check_manage("operator", OPERATOR, "trainee", TRAINEE)
    with pytest.raises(PermissionDenied, match="only an owner may act on an owner"):
        check_manage("admin", ADMIN, "owner", OWNER)
    with pytest.raises(PermissionDenied, match="the admin role holds more than yours"):
        check_manage("trainee", TRAINEE, "admin", ADMIN)
    # A custom role ranks by what it holds, not with "operator": a narrow one
    # holding only manage_operators acts on neither an admin nor an operator.
    narrow = frozenset({"manage_operators", "self"})
    with pytest.raises(PermissionDenied, match="holds more than yours"):
        check_manage("hr", narrow, "admin", ADMIN)
    with pytest.raises(PermissionDenied, match="holds more than yours"):
        check_manage("hr", narrow, "operator", OPERATOR)
    # ... and a wide custom role acts on the operator role it covers.
    check_manage("lead", OPERATOR | {"manage_operators"}, "operator", OPERATOR)


def test_a_waiting_line_is_for_its_operators_and_department_managers() -> None:
    check_line("d1", ("d1", "d2"), OPERATOR)
    check_line("d3", (), frozenset({MANAGE_DEPARTMENTS}))
    with pytest.raises(PermissionDenied, match="you do not serve that department"):
        check_line("d3", ("d1",), OPERATOR)


def test_shared_quick_replies_need_manage_templates() -> None:
    check_shared_templates(ADMIN, "admin")
    with pytest.raises(PermissionDenied, match="the operator role may not manage the account's"):
        check_shared_templates(OPERATOR, "operator")


def operator(op_id: str, *departments: str) -> Operator:
    return Operator(op_id, "a1", f"{op_id}@example.com", op_id, "operator", "", departments)


def test_operators_online_count_in_each_department_they_serve() -> None:
    operators = {
        "o1": operator("o1", "d1", "d2"),
        "o2": operator("o2", "d1"),
        "o3": operator("o3", "d2"),
        "o4": operator("o4", "d3"),
    }
    statuses = {"o1": "online", "o2": "online", "o3": "away", "o4": "offline", "gone": "online"}
    assert online_per_department(statuses, operators) == {"d1": 2, "d2": 1}
    assert online_per_department({}, operators) == {}
