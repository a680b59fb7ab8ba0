"""`python -m local.invoke FUNCTION`: one workflow function in its Lambda
container, as Lambda runs it, against the embedded AWS and the Telegram
stand-in. `make invoke FN=StageImage` builds it first (`sam build`).

It starts the embedded AWS and the stand-in (listening on all interfaces, so
the container reaches them at the Docker host's address), deploys
template.yaml to them, provides what the function's sample event in events/
refers to (the Telegram file a request names; the annotated image a reply
sends), then runs `sam local invoke` on the built template with the sample
event and the deployment's settings (`--env-vars`). It prints the function's
answer, what Telegram received and what landed in S3; it exits non-zero when
the function raised. The container tests call `invoke()` for every function.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.preferences import ChatPreferences, Choices
from local.containers import REPO_ROOT, host_address, require_docker, sam_cli
from local.images import SAM_REPOSITORY, replacing
from local.polybot_stack import PolybotStack, StackOptions, sample_images
from local.stack import load_template
from local.telegram_standin import SentMessage
from polybot import logs
from polybot.albums import Albums
from polybot.contracts.messages import ImageRequest
from polybot.settings import ENV_VARS

BUILT_TEMPLATE = REPO_ROOT / ".aws-sam" / "build" / "template.yaml"
EVENTS = REPO_ROOT / "events"
INVOKE_TIMEOUT_S = 300
"""The first invocation builds the layer image on top of the Lambda base image."""


@dataclass
class Invocation:
    """What one `sam local invoke` did."""

    function: str
    response: Any
    logs: str
    telegram_sent: list[SentMessage] = field(default_factory=list)
    stored_keys: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "response": self.response,
            "error_type": self.error_type,
            "telegram_sent": [
                {"method": m.method, "chat_id": m.chat_id, "text": m.text, "caption": m.caption, "photo": bool(m.photo)}
                for m in self.telegram_sent
            ],
            "stored_keys": self.stored_keys,
            "seconds": round(self.seconds, 1),
            "logs": self.logs,
        }

    @property
    def error_type(self) -> str | None:
        if isinstance(self.response, dict) and "errorType" in self.response:
            return str(self.response["errorType"])
        return None


def functions() -> dict[str, str]:
    """Function name (StageImage) -> its sample event, for every function in template.yaml."""
    resources: dict[str, Any] = load_template(REPO_ROOT / "template.yaml")["Resources"]
    return {
        logical_id.removesuffix("Function"): str(
            EVENTS / (resource["Properties"]["Handler"].rsplit(".", 1)[0] + ".json")
        )
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def provide_what_the_event_needs(stack: PolybotStack, event: dict[str, Any]) -> None:
    """The Telegram file a request names, the annotated image a reply sends, the
    photos of the album GatherAlbum gathers (the event's and the next one), and
    what ForgetChat deletes: the chat's settings and a photo's original and
    annotated image, beside another chat's photo it must leave alone."""
    assert stack.telegram is not None
    photo = sample_images()[0].read_bytes()
    if "forget" in event:
        chat = event["forget"]["chat_id"]
        choices = Choices.from_settings(stack.settings)
        ChatPreferences(stack.client("dynamodb"), stack.settings.results_table, choices).change(
            chat, "confidence", choices.confidences[-1]
        )
        s3 = stack.client("s3")
        for key in (f"originals/tg{chat}_79.jpg", f"annotated/tg{chat}_79.jpg", f"originals/tg{chat + 1}_79.jpg"):
            s3.put_object(Bucket=stack.settings.images_bucket, Key=key, Body=photo, ContentType="image/jpeg")
    request: ImageRequest = event.get("request", {})
    if "started_at" in event:
        albums = Albums(stack.client("dynamodb"), stack.settings.results_table)
        for message_id in (request["message_id"], request["message_id"] + 1):
            albums.add(event["execution_name"], {**request, "message_id": message_id})
    elif "file_id" in request and "staged" not in event:
        stack.telegram.add_file(photo, file_id=request["file_id"])
    staged, detection = event.get("staged"), event.get("detection")
    if staged and detection:
        s3 = stack.client("s3")
        if staged["bucket"] not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
            s3.create_bucket(Bucket=staged["bucket"])
        s3.put_object(Bucket=staged["bucket"], Key=detection["annotated_key"], Body=photo, ContentType="image/jpeg")


def container_environment(stack: PolybotStack) -> dict[str, str]:
    """The deployment's function settings, with the embedded AWS and the stand-in
    at the addresses a container reaches them."""
    assert stack.deployment is not None and stack.telegram is not None
    host = host_address()
    environment = dict(stack.deployment.function_environment)
    environment[ENV_VARS["telegram_api_url"]] = f"http://{host}:{stack.telegram.port}"
    environment[ENV_VARS["aws_endpoint_url"]] = f"http://{host}:{stack.aws.port}"
    return environment


def _stored_keys(stack: PolybotStack) -> list[str]:
    s3 = stack.client("s3")
    keys = []
    for bucket in s3.list_buckets()["Buckets"]:
        for item in s3.list_objects_v2(Bucket=bucket["Name"]).get("Contents", []):
            keys.append(f"{bucket['Name']}/{item['Key']}")
    return sorted(keys)


def sam_local_invoke(function: str, event_path: Path, environment: dict[str, str], template: Path) -> tuple[Any, str]:
    """The function's answer (parsed JSON) and its log, from `sam local invoke`."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as env_file:
        json.dump({"Parameters": environment}, env_file)
    command = [
        sam_cli(),
        "local",
        "invoke",
        f"{function}Function",
        "--template",
        str(template),
        "--event",
        str(event_path),
        "--env-vars",
        env_file.name,
        "--skip-pull-image",
    ]
    # sam passes these to the container; the embedded AWS accepts any keys.
    sam_environment = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": environment.get("AWS_REGION", "us-east-1"),
        "SAM_CLI_TELEMETRY": "0",
    }
    sam_environment.pop("AWS_SESSION_TOKEN", None)
    sam_environment.pop("AWS_ENDPOINT_URL", None)
    # sam rebuilds its image of the runtime whenever the layer changed, under the same tag.
    try:
        with replacing(SAM_REPOSITORY):
            done = subprocess.run(  # noqa: S603 - argv built here, no shell
                command,
                cwd=REPO_ROOT,
                env=sam_environment,
                capture_output=True,
                text=True,
                timeout=INVOKE_TIMEOUT_S,
                check=False,
            )
    finally:
        os.unlink(env_file.name)
    # sam exits 0 even when the function raised; its answer is the last line of stdout.
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"sam local invoke {function} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return json.loads(lines[-1]), done.stderr


def invoke(function: str, template: Path = BUILT_TEMPLATE) -> Invocation:
    """Run `function` (StageImage, GatherAlbum, SendReply, NotifyFailure, ForgetChat) with its sample event."""
    require_docker()
    events = functions()
    if function not in events:
        raise ValueError(f"no function {function!r} in template.yaml; there are {sorted(events)}")
    if not template.is_file():
        raise FileNotFoundError(f"{template} is missing: run `sam build` (make invoke does) first")
    event_path = Path(events[function])
    event = json.loads(event_path.read_text(encoding="utf-8"))
    stack = PolybotStack(StackOptions(listen_host="0.0.0.0"))  # noqa: S104 - the container must reach it
    stack.start(worker=False, bot=False)
    try:
        provide_what_the_event_needs(stack, event)
        started = time.perf_counter()
        response, logs = sam_local_invoke(function, event_path, container_environment(stack), template)
        assert stack.telegram is not None
        return Invocation(
            function=function,
            response=response,
            logs=logs,
            telegram_sent=list(stack.telegram.sent),
            stored_keys=_stored_keys(stack),
            seconds=time.perf_counter() - started,
        )
    finally:
        stack.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.invoke", description=__doc__)
    parser.add_argument("function", help="StageImage, GatherAlbum, SendReply, NotifyFailure or ForgetChat")
    parser.add_argument("--log-level", default="WARNING", help="level of the JSON log lines on stderr")
    parser.add_argument("--json", action="store_true", help="print what happened as one JSON object (tests read it)")
    args = parser.parse_args(argv)
    logs.configure("local", args.log_level)
    result = invoke(args.function)
    if args.json:
        print(json.dumps(result.as_json()))
        return 1 if result.error_type else 0
    print(f"{result.function}: {json.dumps(result.response)}")
    for sent in result.telegram_sent:
        print(f"  Telegram got {sent.method} in chat {sent.chat_id}: {sent.caption or sent.text}")
    for key in result.stored_keys:
        print(f"  S3 holds {key}")
    print(f"  {result.seconds:.1f} s in the Lambda container")
    if result.error_type:
        print(result.logs, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
