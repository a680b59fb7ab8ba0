"""Execution histories of the image pipeline, recorded for what a bill is made
of: a single photo, an album of N photos, a failure (a file that is no image),
a Telegram 429 waited out by the workflow, and a reply retried after a
Telegram 502. Each goes through the running local stack as a user's message
(the Telegram stand-in, the bot's webhook, the embedded AWS's Step Functions,
the worker); its history (GetExecutionHistory) is kept, compacted, in
bench/results/histories/<scenario>.json and counted by `benchmarks.transitions`.

Called by `benchmarks.__main__` (`make bench`) with its stack; on its own,
`python -m benchmarks.histories` starts a stack of its own and adds its figures
to bench/results/latest.json. `benchmarks.costs` prices the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from benchmarks.transitions import Bill, bill, compact, durations_ms
from local.polybot_stack import REPO_ROOT, PolybotStack
from local.telegram_standin.faults import Fault
from polybot import naming

RESULTS = REPO_ROOT / "bench" / "results" / "latest.json"
HISTORIES = REPO_ROOT / "bench" / "results" / "histories"
DEFINITION = REPO_ROOT / "statemachines" / "image_pipeline.asl.json"
ALBUM_PHOTOS = 3
FIRST_CHAT = 9500
"""Chats of their own (the bench's other phases use 6000-8999)."""
REPLY = "editMessageMedia"
"""The Bot API method of a single photo's reply (the progress message becomes the result)."""
NOT_AN_IMAGE = (b"%PDF-1.7\n" + bytes(2000), "scan.jpg", "image/jpeg")
"""A PDF named .jpg, sent as a file: StageImage refuses it (NotAnImage)."""

RESHAPE = {
    "IsAlbum": "single photos and albums in state machines of their own: the bot, which knows a "
    "media group when it sees one, starts the album's machine, and neither begins with the choice",
    "PhotoAnalysed": "PersistPhotoResults ends each album photo's iteration (End: true): the Pass "
    "rebuilds the input it is given (execution_name, request, staged, detection), and the rare "
    "duplicate (ConditionalCheckFailed) is caught into a Succeed state of its own",
}
"""The states the cheapest shape of the workflow does without, and how (docs/performance.md,
"State transitions, counted from histories"). Every other state entered on a common path routes
or does work that the workflow needs."""


def record(stack: PolybotStack, photos: list[bytes], album_photos: int = ALBUM_PHOTOS) -> dict[str, Any]:
    """Plays each scenario through the running stack (bot and worker serving) and
    returns the bench's figures; the histories go to HISTORIES."""
    telegram = stack.telegram
    assert telegram is not None, "the scenarios are a user's messages to the Telegram stand-in"
    chat = iter(range(FIRST_CHAT, FIRST_CHAT + 100))
    recorded: dict[str, list[dict[str, Any]]] = {}

    def photo(scenario: str, image: bytes) -> None:
        chat_id = next(chat)
        message = telegram.user_sends_photo(chat_id, image)
        recorded[scenario] = history(stack, naming.execution_name(chat_id, int(message["message_id"])))

    photo("single_photo", photos[0])
    chat_id = next(chat)
    album = telegram.user_sends_album(chat_id, [photos[i % len(photos)] for i in range(album_photos)])
    recorded["album"] = history(stack, naming.album_execution_name(chat_id, album[0]["media_group_id"]))
    chat_id = next(chat)
    document = telegram.user_sends_document(chat_id, *NOT_AN_IMAGE)
    recorded["failure_not_an_image"] = history(stack, naming.execution_name(chat_id, int(document["message_id"])))
    telegram.fail_next(REPLY, 429, "Too Many Requests: retry after 1", retry_after=1)
    photo("telegram_429", photos[0])
    telegram.inject(REPLY, Fault("html", 502))
    photo("reply_retried_after_502", photos[0])

    HISTORIES.mkdir(parents=True, exist_ok=True)
    for scenario, events in recorded.items():
        (HISTORIES / f"{scenario}.json").write_text(json.dumps(events, indent=1) + "\n", encoding="utf-8")
    return figures({scenario: bill(events) for scenario, events in recorded.items()}, recorded, album_photos)


def history(stack: PolybotStack, name: str) -> list[dict[str, Any]]:
    """The execution's history once it has ended, compacted (benchmarks.transitions.compact)."""
    execution = stack.wait_for_execution(name)
    if execution["status"] in ("RUNNING", "NOT_STARTED"):
        raise TimeoutError(f"execution {name} still {execution['status']}")
    events = stack.client("stepfunctions").get_execution_history(
        executionArn=stack.execution_arn(name), maxResults=1000
    )["events"]
    return compact(events)


def album_photo_states(definition: dict[str, Any]) -> set[str]:
    """The states an album runs once per photo: those of its Map states' iterations."""
    found: set[str] = set()
    for state in definition["States"].values():
        if state["Type"] == "Map":
            processor = state.get("ItemProcessor") or state["Iterator"]
            found |= set(processor["States"]) | album_photo_states(processor)
    return found


def states_of_type(definition: dict[str, Any], kind: str) -> set[str]:
    """The names of the workflow's states of type `kind`, in Map iterations too."""
    found = {name for name, state in definition["States"].items() if state["Type"] == kind}
    for state in definition["States"].values():
        if state["Type"] == "Map":
            found |= states_of_type(state.get("ItemProcessor") or state["Iterator"], kind)
    return found


def figures(bills: dict[str, Bill], recorded: dict[str, list[dict[str, Any]]], album_photos: int) -> dict[str, Any]:
    """latest.json's keys: transitions per photo, per album photo, per failure, per
    429 wait, per retry; each scenario's counts; the reshaped workflow's."""
    single, album = bills["single_photo"], bills["album"]
    # Per photo the album analysed (its Map iterations): on a busy machine a photo may miss
    # the gathering window and be analysed alone, in an execution of its own.
    analysed = max(1, album.iterations)
    definition = json.loads(DEFINITION.read_text(encoding="utf-8"))
    per_photo_states, wait_states = album_photo_states(definition), states_of_type(definition, "Wait")
    in_iterations = sum(n for state, n in album.states_entered.items() if state in per_photo_states)
    waits_429 = sum(n for state, n in bills["telegram_429"].states_entered.items() if state in wait_states)
    extra_429 = bills["telegram_429"].transitions - single.transitions
    scenarios = {}
    for scenario, counted in bills.items():
        durations = durations_ms(recorded[scenario])
        scenarios[scenario] = {
            **counted.summary(),
            "reshaped_transitions": counted.without(RESHAPE),
            "state_ms": {state: round(statistics.median(ms)) for state, ms in durations.items()},
        }
    scenarios["album"].update(photos=analysed, photos_sent=album_photos)
    return {
        "transitions_per_photo": single.transitions,
        "transitions_per_album_photo": round(album.transitions / analysed, 2),
        "transitions_per_album": {
            "photos": analysed,
            "once": album.transitions - in_iterations,
            "each_photo": round(in_iterations / analysed, 2),
        },
        "transitions_per_failure": bills["failure_not_an_image"].transitions,
        "transitions_per_429_wait": round(extra_429 / max(1, waits_429), 2),
        "transitions_per_retry": bills["reply_retried_after_502"].transitions - single.transitions,
        "transitions_reshaped": {
            "removes": sorted(RESHAPE),
            "per_photo": single.without(RESHAPE),
            "per_album_photo": round(album.without(RESHAPE) / analysed, 2),
            "per_failure": bills["failure_not_an_image"].without(RESHAPE),
        },
        "workflow_histories": scenarios,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.histories", description=__doc__)
    parser.add_argument("--album-photos", type=int, default=ALBUM_PHOTOS)
    parser.add_argument("--out", type=Path, default=RESULTS, help="the bench's results: these figures are added")
    args = parser.parse_args()
    from benchmarks import models

    photos = models.image_set_as_jpeg()
    with PolybotStack() as stack:
        found = record(stack, photos, args.album_photos)
    results = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {}
    results.update(found)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in found.items() if k != "workflow_histories"}, indent=2))
    print(f"histories in {HISTORIES}, figures added to {args.out}")


if __name__ == "__main__":
    main()
