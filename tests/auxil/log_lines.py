"""The lines a log group of ours really receives, for the metric filter checks
(tests/auxil/metric_filters.py): what Step Functions writes of an execution, and
what our Python code logs.

Step Functions: one JSON object per history event, in the format AWS writes
(`id`, `type`, `details`, `previous_event_id`, `event_timestamp`,
`execution_arn`), only the event types the state machine's log level includes
(docs.aws.amazon.com/step-functions/latest/dg/cloudwatch-log-level.html), and
without `input`/`output` (and their `*Details`) when IncludeExecutionData is
false: the error and cause stay. (AWS's reference for the format: LocalStack's
test_logs.snapshot.json, recorded against AWS, `test_base[raise_failure...
_ALL_False]`: an ExecutionFailed logged without execution data keeps
`details.error` and `details.cause`; the GetExecutionHistory reference calls
execution data "input or output of a history event".)
`step_functions_lines` turns a real execution's history (the embedded AWS's)
into those lines; `step_functions_samples` gives documented lines for every
event type with an error, for each error name the workflow may end with.

Our Python code: every logging call in the given folders, read from the source
(`log.info("...", *args, extra={...})`), as the JSON line polybot.logs writes
for it (`time`, `level`, `component`, `logger`, `execution`, `message`, the
extra keys), the %-placeholders filled with a stand-in value.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

# docs.aws.amazon.com/step-functions/latest/dg/cloudwatch-log-level.html
EVENTS_AT_FATAL = frozenset({"ExecutionAborted", "ExecutionFailed", "ExecutionTimedOut"})
EVENTS_AT_ERROR = EVENTS_AT_FATAL | frozenset(
    {
        "FailStateEntered",
        "LambdaFunctionFailed",
        "LambdaFunctionScheduleFailed",
        "LambdaFunctionStartFailed",
        "LambdaFunctionTimedOut",
        "MapIterationAborted",
        "MapIterationFailed",
        "MapStateAborted",
        "MapStateFailed",
        "ParallelStateAborted",
        "ParallelStateFailed",
        "TaskFailed",
        "TaskStartFailed",
        "TaskStateAborted",
        "TaskSubmitFailed",
        "TaskTimedOut",
        "WaitStateAborted",
    }
)


def logged_at(level: str, event_type: str) -> bool:
    """Whether a state machine logging at `level` writes events of `event_type`."""
    if level == "ALL":
        return True
    if level == "ERROR":
        return event_type in EVENTS_AT_ERROR
    if level == "FATAL":
        return event_type in EVENTS_AT_FATAL
    return False


EXECUTION_DATA = ("input", "inputDetails", "output", "outputDetails")
"""What IncludeExecutionData false leaves out of each event's details."""


def step_functions_lines(
    events: Iterable[Mapping[str, Any]], execution_arn: str, level: str, include_execution_data: bool
) -> list[dict[str, Any]]:
    """The log lines Step Functions writes for these GetExecutionHistory events."""
    lines = []
    for event in events:
        if not logged_at(level, event["type"]):
            continue
        [details] = [value for key, value in event.items() if key.endswith("EventDetails")] or [{}]
        if not include_execution_data:
            details = {key: value for key, value in details.items() if key not in EXECUTION_DATA}
        lines.append(
            {
                "id": str(event["id"]),
                "type": event["type"],
                "details": dict(details),
                "previous_event_id": str(event.get("previousEventId", 0)),
                "event_timestamp": str(event.get("timestamp", "")),
                "execution_arn": execution_arn,
            }
        )
    return lines


# Each event type that carries an error, with the other fields of its details.
_ERROR_EVENTS: dict[str, dict[str, Any]] = {
    "ExecutionFailed": {},
    "ExecutionTimedOut": {},
    "ExecutionAborted": {},
    "TaskFailed": {"resourceType": "lambda", "resource": "invoke"},
    "TaskTimedOut": {"resourceType": "sqs", "resource": "sendMessage.waitForTaskToken"},
    "TaskStartFailed": {"resourceType": "lambda", "resource": "invoke"},
    "TaskSubmitFailed": {"resourceType": "sqs", "resource": "sendMessage.waitForTaskToken"},
    "MapStateFailed": {},
    "MapIterationFailed": {"name": "AnalyseAlbum", "index": 0},
    "LambdaFunctionFailed": {},
    "LambdaFunctionTimedOut": {},
}


def step_functions_samples(level: str, error_names: Iterable[str]) -> list[dict[str, Any]]:
    """A documented line of every error-bearing event type logged at `level`,
    once for each error name, without execution data."""
    arn = "arn:aws:states:us-east-1:123456789012:execution:polybot-prod-ImagePipeline:tg1001_77"
    lines = []
    for event_type, fields in _ERROR_EVENTS.items():
        if not logged_at(level, event_type):
            continue
        for name in error_names:
            details = {**fields, "error": name, "cause": f"a {name}"}
            lines.append(
                {
                    "id": "7",
                    "type": event_type,
                    "details": details,
                    "previous_event_id": "6",
                    "event_timestamp": "1717612187000",
                    "execution_arn": arn,
                }
            )
    return lines


# --- our Python code's lines ---------------------------------------------------

LEVELS = {
    "debug": "DEBUG",
    "info": "INFO",
    "warning": "WARNING",
    "error": "ERROR",
    "exception": "ERROR",
    "critical": "CRITICAL",
}
_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?([sdrfgixXeE%])")
_FILLS = {"s": "x", "r": "'x'", "d": "1", "i": "1", "f": "1.0", "g": "1", "x": "1", "X": "1", "e": "1e0", "E": "1E0"}


def _filled(template: str) -> str:
    return _PLACEHOLDER.sub(lambda m: "%" if m.group(1) == "%" else _FILLS.get(m.group(1), "x"), template)


def _message(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _filled(node.value)
    if isinstance(node, ast.JoinedStr):
        parts = [v.value if isinstance(v, ast.Constant) else "x" for v in node.values]
        return "".join(str(p) for p in parts)
    return None


def _logger_names(tree: ast.Module, module: str) -> dict[str, str]:
    """Variables bound to `logging.getLogger(...)` in the module, by name."""
    names = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        call = node.value
        if not (isinstance(call.func, ast.Attribute) and call.func.attr == "getLogger"):
            continue
        argument = call.args[0] if call.args else None
        if isinstance(argument, ast.Name) and argument.id == "__name__":
            logger = module
        elif isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            logger = argument.value
        else:
            continue
        names.update({target.id: logger for target in node.targets if isinstance(target, ast.Name)})
    return names


def python_lines(folders: Iterable[str], component: str) -> list[dict[str, Any]]:
    """The JSON line of every logging call in these folders (of the repository),
    as polybot.logs formats it for a process configured as `component`."""
    lines = []
    paths = [path for folder in folders for path in sorted((ROOT / folder).rglob("*.py"))]
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in paths}
    constants = _string_constants(trees.values())
    for path, tree in trees.items():
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        loggers = _logger_names(tree, module)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            target = node.func.value
            if not (isinstance(target, ast.Name) and target.id in loggers and node.func.attr in LEVELS):
                continue
            message = _message(node.args[0]) if node.args else None
            if message is None:
                continue
            line: dict[str, Any] = {
                "time": "2026-12-05 10:00:00,000",
                "level": LEVELS[node.func.attr],
                "component": component,
                "logger": loggers[target.id],
                "execution": "tg1001_77",
                "message": message,
            }
            line.update(_extra(node, constants))
            lines.append(line)
    return lines


def _string_constants(trees: Iterable[ast.Module]) -> dict[str, str]:
    """Module-level `NAME = "text"` of these modules, by name (a name given two
    values is left out), so `extra={"event": REGISTERED}` logs its value."""
    values: dict[str, set[str]] = {}
    for tree in trees:
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        values.setdefault(target.id, set()).add(node.value.value)
    return {name: next(iter(found)) for name, found in values.items() if len(found) == 1}


def _extra(call: ast.Call, constants: Mapping[str, str]) -> dict[str, Any]:
    def value_of(value: ast.expr) -> Any:
        if isinstance(value, ast.Constant):
            return value.value
        if isinstance(value, ast.Name) and value.id in constants:
            return constants[value.id]
        return "x"

    for keyword in call.keywords:
        if keyword.arg == "extra" and isinstance(keyword.value, ast.Dict):
            return {
                key.value: value_of(value)
                for key, value in zip(keyword.value.keys, keyword.value.values, strict=True)
                if isinstance(key, ast.Constant) and isinstance(key.value, str)
            }
    return {}
