"""template.yaml, statemachines/image_pipeline.asl.json, the Lambda handlers,
polybot.errors and polybot.contracts name each other; these tests check the
names agree, so a rename in one place that misses another fails here."""

from __future__ import annotations

import importlib
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from local.stack import load_template
from polybot import contracts, errors
from polybot.settings import ENV_VARS, TELEGRAM_DOWNLOAD_LIMIT_BYTES, Settings

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
PIPELINE = RESOURCES["ImagePipeline"]["Properties"]
ASL_TEXT = (ROOT / PIPELINE["DefinitionUri"]).read_text(encoding="utf-8")
STATES: dict[str, Any] = json.loads(ASL_TEXT)["States"]
PHOTO_STATES: dict[str, Any] = STATES["AnalyseAlbum"]["ItemProcessor"]["States"]
"""One photo of an album, inside the AnalyseAlbum Map."""
ALL_STATES = {**STATES, **PHOTO_STATES}
TASKS = {name: state for name, state in ALL_STATES.items() if state["Type"] == "Task"}
LAMBDA_TASKS = {name: state for name, state in TASKS.items() if state["Resource"].endswith("FunctionArn}")}
FUNCTIONS = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"}
# The input message each Lambda task builds with its Parameters.
TASK_INPUTS = {
    "StageImage": "StageImageInput",
    "StagePhoto": "StageImageInput",
    "GatherAlbum": "GatherAlbumInput",
    "SendReply": "SendReplyInput",
    "SendAlbumReply": "SendAlbumReplyInput",
    "NotifyFailure": "NotifyFailureInput",
    "ForgetChat": "ForgetChatInput",
    "ForgetFailed": "ForgetFailedInput",
}
# Tasks that run another state's function: an album photo's staging, the album's reply.
SAME_FUNCTION_AS = {"StagePhoto": "StageImage", "SendAlbumReply": "SendReply", "ForgetFailed": "ForgetChat"}
# The single path's states and their twins for one album photo.
PHOTO_TWINS = {
    "StageImage": "StagePhoto",
    "DetectObjects": "DetectPhotoObjects",
    "PersistResults": "PersistPhotoResults",
}
# Where each task's last Catch (States.ALL) goes: a single image's failure is
# recorded, then told; an album photo's is recorded and becomes its AlbumPhoto;
# the album's own failures (and a failed record) are told.
CATCH_ALL_INTO = {
    **dict.fromkeys(["StageImage", "DetectObjects", "PersistResults", "SendReply"], "RecordFailure"),
    **dict.fromkeys(["StagePhoto", "DetectPhotoObjects", "PersistPhotoResults"], "RecordPhotoFailure"),
    **dict.fromkeys(["GatherAlbum", "SendAlbumReply", "RecordFailure"], "NotifyFailure"),
    "RecordPhotoFailure": "PhotoFailed",
    "ForgetChat": "ForgetFailed",
}
TELLING_TASKS = {"NotifyFailure", "ForgetFailed"}
"""The tasks that tell the user a failure: their own failure does not replace the one they tell of."""


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def retried_errors(state: dict[str, Any]) -> set[str]:
    return {error for retrier in state.get("Retry", []) for error in retrier["ErrorEquals"]}


def test_every_asl_placeholder_is_substituted_and_every_substitution_is_used() -> None:
    placeholders = set(re.findall(r"\$\{([^}]+)\}", ASL_TEXT))

    assert placeholders == set(PIPELINE["DefinitionSubstitutions"])


def test_the_asl_is_the_file_the_template_names() -> None:
    assert PIPELINE["DefinitionUri"] == "statemachines/image_pipeline.asl.json"
    assert PIPELINE["Type"] == "STANDARD"


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_each_function_handler_is_an_importable_callable(logical_id: str) -> None:
    properties = FUNCTIONS[logical_id]["Properties"]
    code_uri = properties.get("CodeUri", TEMPLATE["Globals"]["Function"]["CodeUri"])
    module_name, _, attribute = properties["Handler"].rpartition(".")
    package = ".".join(Path(code_uri).parts)

    handler = getattr(importlib.import_module(f"{package}.{module_name}"), attribute)

    assert package == "functions"
    assert callable(handler)


def test_every_function_gets_the_shared_package_from_the_polybot_layer() -> None:
    layer = RESOURCES["PolybotLayer"]
    makefile = (ROOT / "functions" / "Makefile").read_text(encoding="utf-8")

    assert TEMPLATE["Globals"]["Function"]["Layers"] == [{"Ref": "PolybotLayer"}]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["CompatibleRuntimes"] == [TEMPLATE["Globals"]["Function"]["Runtime"]]
    for logical_id in [*FUNCTIONS, "PolybotLayer"]:
        assert RESOURCES[logical_id]["Metadata"] == {"BuildMethod": "makefile"}
        assert re.search(rf"^build-{logical_id}:", makefile, re.MULTILINE), f"functions/Makefile builds no {logical_id}"
    assert '"$(ROOT)/polybot"' in makefile


def test_the_layer_carries_every_module_the_handlers_share() -> None:
    """On Lambda each handler module is top level; what it imports from `functions`
    (its wiring, how it refuses the user's doing) must come with the layer."""
    makefile = (ROOT / "functions" / "Makefile").read_text(encoding="utf-8")
    [layer] = re.findall(r"^build-PolybotLayer:\n((?:\t.*\n|#.*\n|\s*\n)*)", makefile, re.MULTILINE)
    handlers = {f"{FUNCTIONS[f]['Properties']['Handler'].rsplit('.', 1)[0]}.py" for f in FUNCTIONS}
    shared = {path.name for path in (ROOT / "functions").glob("*.py")} - handlers

    into_package = [
        line for line in layer.splitlines() if line.rstrip().endswith('$(ARTIFACTS_DIR)/python/functions/"')
    ]
    copied = {name for line in into_package for name in re.findall(r'"\$\(HERE\)/([a-z_]+\.py)"', line)}
    assert copied == shared


def _requirement_names(lines: list[str]) -> dict[str, str]:
    pattern = re.compile(r"^([A-Za-z0-9_.-]+)\s*(.*?)\s*(#.*)?$")
    found = {}
    for line in lines:
        match = pattern.match(line.strip())
        if match and not line.strip().startswith("#"):
            found[match.group(1).lower().replace("_", "-")] = match.group(2).replace(" ", "")
    return found


def test_the_functions_install_the_projects_runtime_dependencies_with_the_same_bounds() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    declared = _requirement_names(project)
    lambda_requirements = _requirement_names((ROOT / "functions" / "requirements.txt").read_text().splitlines())
    # boto3 comes with the Lambda runtime; the rest of the project's list serves
    # the other parts (flask: the bot; pyyaml: the local stack; snowballstemmer: the
    # bot's grammar of questions, polybot.vocabulary, which SendReply never imports).
    provided_or_unused = {"boto3", "flask", "pyyaml", "snowballstemmer"}

    assert set(lambda_requirements) == set(declared) - provided_or_unused
    for name, bounds in lambda_requirements.items():
        assert bounds == declared[name], f"{name}: functions/requirements.txt says {bounds}, pyproject {declared[name]}"


@pytest.mark.parametrize("state_name", sorted(LAMBDA_TASKS))
def test_each_lambda_task_invokes_the_function_of_its_name(state_name: str) -> None:
    placeholder = LAMBDA_TASKS[state_name]["Resource"][2:-1]
    substitution = PIPELINE["DefinitionSubstitutions"][placeholder]
    logical_id, attribute = substitution["Fn::GetAtt"]

    assert attribute == "Arn"
    function = SAME_FUNCTION_AS.get(state_name, state_name)
    assert FUNCTIONS[logical_id]["Properties"]["Handler"] == f"{snake_case(function)}.handler"


def test_every_function_is_used_by_a_task() -> None:
    used = {PIPELINE["DefinitionSubstitutions"][s["Resource"][2:-1]]["Fn::GetAtt"][0] for s in LAMBDA_TASKS.values()}

    assert used == set(FUNCTIONS)


@pytest.mark.parametrize("state_name", sorted(TASK_INPUTS))
def test_each_lambda_task_sends_the_fields_its_input_message_requires(state_name: str) -> None:
    parameters = {key.removesuffix(".$") for key in LAMBDA_TASKS[state_name]["Parameters"]}
    message = contracts.schema_document()["$defs"][TASK_INPUTS[state_name]]

    assert parameters == set(message["required"])


@pytest.mark.parametrize("state_name", ["DetectObjects", "DetectPhotoObjects"])
def test_the_detection_task_message_has_the_fields_the_worker_requires(state_name: str) -> None:
    body = ALL_STATES[state_name]["Parameters"]["MessageBody"]
    options = {key.removesuffix(".$"): path for key, path in body["options"].items()}
    definitions = contracts.schema_document()["$defs"]

    assert {key.removesuffix(".$") for key in body} == set(definitions["DetectionTask"]["required"])
    # The chat's preferences, as the request carries them, are the worker's options,
    # with the classes a find question draws alone (an empty array where the request has none).
    assert options.pop("only") == "$.request.only[*]"
    assert set(options) == set(definitions["DetectionOptions"]["required"])
    assert options == {key: f"$.request.preferences.{key}" for key in options}
    assert set(options) <= set(definitions["Preferences"]["properties"])


@pytest.mark.parametrize(("single", "photo"), sorted(PHOTO_TWINS.items()))
def test_an_album_photo_is_analysed_with_every_rule_of_a_single_photo(single: str, photo: str) -> None:
    """The same resource, timeouts, retries and catches; only the name the photo
    is known by (its own, not the album execution's) and the next states differ."""

    def comparable(state: dict[str, Any]) -> str:
        text = json.dumps({k: v for k, v in state.items() if k not in ("Comment", "Next")}, sort_keys=True)
        text = text.replace('"$$.Execution.Name"', '"$.execution_name"')
        for name, twin in {**PHOTO_TWINS, "RecordFailure": "RecordPhotoFailure", "SendReply": "PhotoAnalysed"}.items():
            text = text.replace(f'"{name}"', f'"{twin}"')
        return text

    photo_state = json.loads(json.dumps(PHOTO_STATES[photo]))
    # Besides: an album photo's item names its album (for /history), which a single image has not.
    if photo == "PersistPhotoResults":
        assert photo_state["Parameters"]["Item"].pop("media_group_id") == {"S.$": "$.request.media_group_id"}
    assert comparable(STATES[single]) == comparable(photo_state)


def test_a_failure_is_recorded_under_the_image_name_without_replacing_a_result() -> None:
    for state_name, key in (("RecordFailure", "$$.Execution.Name"), ("RecordPhotoFailure", "$.execution_name")):
        parameters = ALL_STATES[state_name]["Parameters"]
        assert ALL_STATES[state_name]["Resource"] == "arn:aws:states:::dynamodb:updateItem"
        assert parameters["Key"] == {"image_id": {"S.$": key}}
        assert parameters["ConditionExpression"] == "attribute_not_exists(detections)"
        values = parameters["ExpressionAttributeValues"]
        assert values[":failure"] == {"S.$": "$.failure.Error"}
        assert {":chat_id", ":message_id", ":received_at"} <= set(values), "the ByChat index needs them"
        # A record that cannot be written must not stop the answer.
        assert ALL_STATES[state_name]["Catch"][-1]["ResultPath"] is None


def test_the_album_gathering_window_is_set_by_gather_album_alone() -> None:
    """No number in the workflow: GatherAlbum answers how long to wait (polybot.albums.GATHER_AFTER_S)."""
    assert STATES["IsAlbum"]["Choices"][0] == {"Variable": "$.album", "IsPresent": True, "Next": "GatherAlbum"}
    assert STATES["GatherAlbum"]["Parameters"]["started_at.$"] == "$$.Execution.StartTime"
    [choice] = [c for c in STATES[STATES["GatherAlbum"]["Next"]]["Choices"] if c.get("StringEquals") == "waiting"]
    wait = STATES[choice["Next"]]
    assert wait == {**wait, "Type": "Wait", "SecondsPath": "$.gathering.wait_s", "Next": "GatherAlbum"}
    assert STATES["AnalyseAlbum"]["ItemsPath"] == "$.gathering.photos"
    assert STATES["SendAlbumReply"]["Parameters"]["photos.$"] == STATES["AnalyseAlbum"]["ResultPath"]


@pytest.mark.parametrize("state_name", sorted(TASKS))
def test_every_task_has_a_retry_and_a_catch(state_name: str) -> None:
    state = TASKS[state_name]

    assert state["Retry"]
    assert state["Catch"]


@pytest.mark.parametrize("state_name", sorted(set(TASKS) - TELLING_TASKS))
def test_every_task_ends_its_catches_with_all_errors_into_the_failure_path(state_name: str) -> None:
    last = TASKS[state_name]["Catch"][-1]
    # The record states keep the failure they record.
    result_path = None if state_name.startswith("Record") else "$.failure"

    assert last == {"ErrorEquals": ["States.ALL"], "ResultPath": result_path, "Next": CATCH_ALL_INTO[state_name]}
    assert TASKS[state_name]["Next"] == CATCH_ALL_INTO[state_name] or not state_name.startswith("Record")


def test_the_album_analysis_as_a_whole_fails_into_notify_failure() -> None:
    assert STATES["AnalyseAlbum"]["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "NotifyFailure"}
    ]


def test_notify_failure_catches_everything_into_failed_keeping_the_original_failure() -> None:
    state = STATES["NotifyFailure"]

    assert state["Catch"][-1]["ErrorEquals"] == ["States.ALL"]
    assert state["Catch"][-1]["Next"] == "Failed"
    assert state["Catch"][-1]["ResultPath"] != "$.failure"
    assert STATES[state["Next"]]["Type"] == "Choice"
    assert STATES[state["Next"]]["Default"] == "Failed"
    assert STATES["Failed"]["Type"] == "Fail"
    assert STATES["Failed"]["ErrorPath"] == "$.failure.Error"
    # A caught timeout has no Cause: a CausePath would fail the execution with States.Runtime.
    assert "CausePath" not in STATES["Failed"]


def _refusal_route(task_name: str) -> tuple[str, str]:
    """Where a Refusal from this Lambda task goes (the state after its Choice and
    Pass), and the path the Pass copies into $.failure."""
    task = ALL_STATES[task_name]
    choice = ALL_STATES[task["Next"]]
    assert choice["Type"] == "Choice", f"{task_name} is not followed by a Choice that routes its Refusal"
    kind = f"{task['ResultPath']}.kind"
    refused = [
        rule["Next"]
        for rule in choice["Choices"]
        if rule.get("Variable") == kind and (rule.get("StringEquals") == "refused" or rule.get("IsPresent") is True)
    ]
    assert len(refused) == 1, f"{task['Next']} routes no Refusal of {task_name} ({task['ResultPath']}.kind)"
    copy = ALL_STATES[refused[0]]
    assert copy["Type"] == "Pass" and copy["ResultPath"] == "$.failure"
    return copy["Next"], copy["InputPath"]


@pytest.mark.parametrize("state_name", sorted(LAMBDA_TASKS))
def test_a_refusal_takes_the_path_a_caught_failure_takes(state_name: str) -> None:
    """Every workflow function answers the user's doing with a Refusal
    (functions/refusals.py) instead of an error: the failure is recorded and told
    as if the task's Catch had caught it, and the execution fails with its name."""
    catch = LAMBDA_TASKS[state_name]["Catch"][-1]
    if catch["ResultPath"] != "$.failure":
        # NotifyFailure, ForgetFailed: its own failure (a chat that blocked the bot) does not
        # replace the one it tells of; a Refusal goes on to the end as its Catch does.
        assert state_name in TELLING_TASKS
        choice = ALL_STATES[LAMBDA_TASKS[state_name]["Next"]]
        if choice["Type"] == "Fail":
            assert catch["Next"] == LAMBDA_TASKS[state_name]["Next"]
            return
        assert "refused" not in json.dumps(choice["Choices"])
        assert choice["Default"] == catch["Next"]
        return
    goes_to, failure = _refusal_route(state_name)

    assert goes_to == catch["Next"]
    assert failure == f"{LAMBDA_TASKS[state_name]['ResultPath']}.failure"
    assert contracts.schema_document()["$defs"]["Refusal"]["properties"]["kind"] == {"const": "refused"}


def test_a_stored_image_has_no_kind_so_its_choice_asks_only_whether_there_is_one() -> None:
    # A comparison on a missing field fails the execution (States.Runtime); a
    # Refusal always has a kind and a stored image never.
    for task in ("StageImage", "StagePhoto"):
        [rule] = ALL_STATES[ALL_STATES[task]["Next"]]["Choices"]
        assert {k: v for k, v in rule.items() if k != "Next"} == {"Variable": "$.staged.kind", "IsPresent": True}
    definitions = contracts.schema_document()["$defs"]
    assert "kind" not in definitions["StagedImage"]["properties"]
    assert definitions["StagedImage"]["additionalProperties"] is False
    assert "kind" in definitions["Refusal"]["required"]


@pytest.mark.parametrize("state_name", sorted(TASKS))
def test_user_input_errors_are_never_retried(state_name: str) -> None:
    assert not retried_errors(TASKS[state_name]) & errors.USER_INPUT_ERRORS
    assert "States.ALL" not in retried_errors(TASKS[state_name])


# Tasks whose function answers Telegram's 429 with a TelegramWait the workflow
# waits out; they raise TelegramRateLimited only to give up, which is not retried.
WAITING_TASKS = {
    "SendReply": "WaitForTelegramToReply",
    "SendAlbumReply": "WaitForTelegramToReplyAlbum",
    "NotifyFailure": "WaitForTelegramToNotify",
}
# GatherAlbum talks to no one but the results table. ForgetChat and ForgetFailed
# edit one message at the end, and a 429 there is retried with the rest.
NO_TELEGRAM_TASKS = {"GatherAlbum"}


@pytest.mark.parametrize("state_name", sorted(LAMBDA_TASKS))
def test_lambda_tasks_retry_exactly_the_retryable_named_errors(state_name: str) -> None:
    named = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.PolybotError) and value is not errors.PolybotError
    }
    retryable = {name for name in named if getattr(errors, name).retryable}
    if state_name in WAITING_TASKS:
        retryable -= {"TelegramRateLimited"}
    if state_name in NO_TELEGRAM_TASKS:
        retryable -= {"TelegramRateLimited", "TelegramUnavailable"}

    assert retried_errors(LAMBDA_TASKS[state_name]) & named == retryable
    assert "Sandbox.Timedout" in retried_errors(LAMBDA_TASKS[state_name]), "a function that timed out is run again"


@pytest.mark.parametrize(("task", "wait"), sorted(WAITING_TASKS.items()))
def test_a_rate_limited_reply_waits_the_time_telegram_names_then_tries_again(task: str, wait: str) -> None:
    [choice] = [c for c in STATES[STATES[task]["Next"]]["Choices"] if c.get("StringEquals") == "rate_limited"]

    assert choice == {"Variable": "$.reply.kind", "StringEquals": "rate_limited", "Next": wait}
    assert STATES[task]["ResultPath"] == "$.reply"
    assert STATES[wait] == {**STATES[wait], "Type": "Wait", "SecondsPath": "$.reply.retry_after_s", "Next": task}
    message = contracts.schema_document()["$defs"]["TelegramWait"]
    assert message["properties"]["kind"] == {"const": choice["StringEquals"]}
    assert "retry_after_s" in message["required"]


@pytest.mark.parametrize("state_name", ["DetectObjects", "DetectPhotoObjects"])
def test_detection_retries_a_silent_or_slow_worker(state_name: str) -> None:
    assert {"States.HeartbeatTimeout", "States.Timeout"} <= retried_errors(ALL_STATES[state_name])


def test_a_detection_message_is_not_redelivered_while_the_task_may_still_run() -> None:
    visibility = RESOURCES["DetectionQueue"]["Properties"]["VisibilityTimeout"]

    assert visibility > STATES["DetectObjects"]["TimeoutSeconds"]


def test_the_worker_heartbeats_well_within_the_heartbeat_timeout() -> None:
    assert Settings().heartbeat_interval_s * 2 <= STATES["DetectObjects"]["HeartbeatSeconds"]
    assert Settings().heartbeat_interval_s * 3 <= Settings().task_lease_s


def test_function_timeouts_fit_in_their_task_timeouts() -> None:
    default = TEMPLATE["Globals"]["Function"]["Timeout"]
    for state_name, state in LAMBDA_TASKS.items():
        logical_id = PIPELINE["DefinitionSubstitutions"][state["Resource"][2:-1]]["Fn::GetAtt"][0]
        timeout = FUNCTIONS[logical_id]["Properties"].get("Timeout", default)
        assert timeout <= state["TimeoutSeconds"], state_name


def test_function_environment_uses_the_settings_variables() -> None:
    variables = set(TEMPLATE["Globals"]["Function"]["Environment"]["Variables"])

    assert variables <= set(ENV_VARS.values())


def test_the_download_limit_parameter_matches_the_settings_default() -> None:
    assert TEMPLATE["Parameters"]["MaxDownloadBytes"]["Default"] == TELEGRAM_DOWNLOAD_LIMIT_BYTES


def _targets(start: str, states: dict[str, Any]) -> set[str]:
    targets = {start}
    for state in states.values():
        targets |= {state[key] for key in ("Next", "Default") if key in state}
        targets |= {catcher["Next"] for catcher in state.get("Catch", [])}
        targets |= {choice["Next"] for choice in state.get("Choices", [])}
    return targets


def test_every_state_is_reachable_and_every_next_exists() -> None:
    processor = STATES["AnalyseAlbum"]["ItemProcessor"]

    assert _targets(json.loads(ASL_TEXT)["StartAt"], STATES) == set(STATES)
    assert _targets(processor["StartAt"], PHOTO_STATES) == set(PHOTO_STATES)
    assert json.loads(ASL_TEXT)["StartAt"] == "IsAlbum"
    assert not set(STATES) & set(PHOTO_STATES), "state names are unique in the whole state machine"
