"""What the files promise before anything runs, recorded beside what the
scenarios measured: every task retried and caught, every callback task bounded
in time, every role holding exactly what its code calls (tests/unit and
tests/infrastructure check the same in more detail)."""

from __future__ import annotations

import json

import pytest

from local.polybot_stack import REPO_ROOT
from tests.auxil import iam
from tests.faults.conftest import FaultSession
from tests.unit.test_template_iam import EXPECTED, permissions, role_documents, roles, translate_template

pytestmark = pytest.mark.faults

STATES = json.loads((REPO_ROOT / "statemachines" / "image_pipeline.asl.json").read_text())["States"]
TASKS = {name: state for name, state in STATES.items() if state["Type"] == "Task"}


def test_every_task_has_a_retry_and_a_catch(faults: FaultSession) -> None:
    assert all(state.get("Retry") and state.get("Catch") for state in TASKS.values())
    faults.record("static: every Task state", "has a Retry and a Catch", f"{len(TASKS)} of {len(TASKS)} tasks")


def test_every_callback_task_is_bounded_in_time(faults: FaultSession) -> None:
    callbacks = {n: s for n, s in TASKS.items() if s["Resource"].endswith(".waitForTaskToken")}

    assert callbacks
    assert all("TimeoutSeconds" in s and "HeartbeatSeconds" in s for s in callbacks.values())
    faults.record(
        "static: every callback (waitForTaskToken) task",
        "has TimeoutSeconds and HeartbeatSeconds",
        ", ".join(f"{n}: {s['HeartbeatSeconds']} s / {s['TimeoutSeconds']} s" for n, s in callbacks.items()),
    )


def test_every_role_holds_exactly_what_its_code_calls(faults: FaultSession) -> None:
    translated = roles(translate_template())

    for name, role in translated.items():
        documents = role_documents(role)
        assert permissions(documents) == EXPECTED[name]
        assert all(iam.scopable_actions_on_wildcard(d) == [] for d in documents)
    faults.record(
        "static: the stack's IAM roles (SAM-translated template; Terraform's in tests/infrastructure)",
        "each holds exactly the actions its code calls, on its own resources and key prefixes; '*' only where "
        "AWS authorises nothing else",
        f"{len(translated)} roles, {sum(len(EXPECTED[n]) for n in translated)} permissions",
    )
