"""State transitions as AWS bills them (benchmarks/transitions.py), counted on
execution histories the bench recorded (`python -m benchmarks.histories`,
kept compact in histories/): each state entered is one, the first included,
each retry one more, an Inline Map one plus its iterations' states; starting
the execution, leaving a state and starting an iteration are none. A state
type or an event type the count does not know stops it rather than bill it
wrong."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from benchmarks.histories import DEFINITION, RESHAPE, album_photo_states
from benchmarks.transitions import ATTEMPTS, ENTERED, NOT_BILLED, UnknownEvent, bill, compact, durations_ms

HISTORIES = Path(__file__).parent / "histories"

ONE_PHOTO = ["IsAlbum", "StageImage", "ImageStaged", "DetectObjects", "PersistResults", "SendReply"]
EACH_ALBUM_PHOTO = ["StagePhoto", "PhotoStaged", "DetectPhotoObjects", "PersistPhotoResults", "PhotoAnalysed"]
ENTERED_IN = {
    "single_photo": [*ONE_PHOTO, "ReplyDelivered", "Answered"],
    "album": [
        *("IsAlbum", "GatherAlbum", "AlbumGathered", "WaitForAlbumPhotos", "GatherAlbum", "AlbumGathered"),
        "AnalyseAlbum",
        *(3 * EACH_ALBUM_PHOTO),
        *("SendAlbumReply", "AlbumReplyDelivered", "Answered"),
    ],
    "failure_not_an_image": [
        *("IsAlbum", "StageImage", "ImageStaged", "FileRefused", "RecordFailure"),
        *("NotifyFailure", "NoticeDelivered", "Failed"),
    ],
    "telegram_429": [*ONE_PHOTO, "ReplyDelivered", "WaitForTelegramToReply", "SendReply", "ReplyDelivered", "Answered"],
    "reply_retried_after_502": [*ONE_PHOTO, "ReplyDelivered", "Answered"],
}
"""The states each recorded execution entered, read off its history by hand."""
RETRIES = {"reply_retried_after_502": {"SendReply": 1}}
"""SendReply met Telegram's 502 page once (TelegramUnavailable) and was retried."""


def recorded(scenario: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = json.loads((HISTORIES / f"{scenario}.json").read_text(encoding="utf-8"))
    return events


@pytest.mark.parametrize("scenario", sorted(ENTERED_IN))
def test_each_state_entered_is_one_transition_and_each_retry_one_more(scenario: str) -> None:
    counted = bill(recorded(scenario))

    retries = RETRIES.get(scenario, {})
    assert counted.states_entered == Counter(ENTERED_IN[scenario])
    assert counted.retries == Counter(retries)
    assert counted.transitions == len(ENTERED_IN[scenario]) + sum(retries.values())


def test_the_recorded_figures() -> None:
    # What latest.json reports, from these histories: 8 per photo (not 4), an album of 3
    # 25 (10 once, 5 per photo), a refused file 8, each 429 wait 3 more, each retry 1.
    counts = {scenario: bill(recorded(scenario)).transitions for scenario in ENTERED_IN}
    assert counts == {
        "single_photo": 8,
        "album": 25,
        "failure_not_an_image": 8,
        "telegram_429": 11,
        "reply_retried_after_502": 9,
    }


def test_the_calls_a_history_bills_are_counted_with_their_retries() -> None:
    single, retried, album = (bill(recorded(s)) for s in ("single_photo", "reply_retried_after_502", "album"))
    assert (single.lambda_invocations, single.sqs_tasks, single.dynamodb_writes) == (2, 1, 1)
    assert retried.lambda_invocations == 3, "a retried invocation is invoked (and billed) again"
    # GatherAlbum twice (one wait for the album's photos), StagePhoto three times, SendAlbumReply.
    assert (album.lambda_invocations, album.sqs_tasks, album.dynamodb_writes) == (6, 3, 3)
    assert album.iterations == 3, "one Map iteration per photo, billed through its states only"


def test_wait_states_and_map_states_last_from_their_entry_to_their_own_exit() -> None:
    waited = bill(recorded("telegram_429")).waited_s
    durations = durations_ms(recorded("album"))

    assert 1.0 <= waited < 1.5, "Telegram's retry_after (1 s), as the history's timestamps say"
    # The Map state's exit follows its last iteration's events: matched to the Map state by name.
    assert [len(durations[s]) for s in ("AnalyseAlbum", "PhotoAnalysed", "StagePhoto")] == [1, 3, 3]
    assert durations["AnalyseAlbum"][0] >= max(durations["DetectPhotoObjects"])


def state_types(states: dict[str, Any]) -> set[str]:
    found = set()
    for state in states.values():
        found.add(state["Type"])
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            found |= state_types(processor["States"])
        for branch in state.get("Branches", []):
            found |= state_types(branch["States"])
    return found


WORKFLOW_STATE_TYPES = sorted(state_types(json.loads(DEFINITION.read_text(encoding="utf-8"))["States"]))


@pytest.mark.parametrize("kind", [*WORKFLOW_STATE_TYPES, "Parallel"])
def test_entering_a_state_of_each_type_the_workflow_uses_is_billed(kind: str) -> None:
    history = [
        {"id": 1, "previousEventId": 0, "type": "ExecutionStarted", "timestamp": "2026-12-05T09:00:00+00:00"},
        {
            "id": 2,
            "previousEventId": 1,
            "type": f"{kind}StateEntered",
            "timestamp": "2026-12-05T09:00:01+00:00",
            "stateEnteredEventDetails": {"name": "Only"},
        },
    ]
    assert bill(history).transitions == 1


def test_every_event_type_step_functions_writes_is_billed_or_not_by_decision() -> None:
    api = set(botocore.session.get_session().get_service_model("stepfunctions").shape_for("HistoryEventType").enum)

    assert api - (ENTERED | ATTEMPTS | NOT_BILLED) == set(), "event types the count does not classify"
    assert {t for t in api if t.endswith("StateEntered")} == ENTERED
    assert ENTERED & NOT_BILLED == ATTEMPTS & NOT_BILLED == set()


def test_an_event_type_nobody_classified_stops_the_count() -> None:
    history = compact(recorded("single_photo"))
    history[1] = {**history[1], "type": "LoopStateEntered"}

    with pytest.raises(UnknownEvent, match="LoopStateEntered"):
        bill(history)


def test_the_reshaped_workflow_saves_one_transition_per_photo() -> None:
    # RESHAPE's states are removed from each history: the counts of the cheaper shape.
    reshaped = {scenario: bill(recorded(scenario)).without(RESHAPE) for scenario in ENTERED_IN}
    assert reshaped["single_photo"] == 7
    assert reshaped["album"] == 25 - 1 - 3
    assert set(RESHAPE) <= {s for states in ENTERED_IN.values() for s in states}, "only states a history enters"


def test_the_album_states_run_once_per_photo_are_its_map_iterations() -> None:
    per_photo = album_photo_states(json.loads(DEFINITION.read_text(encoding="utf-8")))
    assert set(EACH_ALBUM_PHOTO) <= per_photo
    assert not per_photo & {"IsAlbum", "GatherAlbum", "SendAlbumReply", "Answered"}
