"""StageImage: fetch the user's file from Telegram and store the original in S3.

Refuses, with a named error and before anything is stored, a file over the
Bot API's download limit (`FileTooLarge`) or one that is not an image the
detector reads (`NotAnImage`, `ImageTooLarge`, `ImageNotDecodable`); the
handler answers those with a Refusal instead of failing (functions/refusals.py).
Input: StageImageInput. Output: StageOutcome (a StagedImage, or a Refusal).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from functions import services
from functions.refusals import refusing
from polybot import aws, contracts, logs, naming
from polybot.contracts.messages import ImageRequest, StagedImage
from polybot.errors import FileTooLarge
from polybot.settings import Settings

if TYPE_CHECKING:
    import telebot
    from mypy_boto3_s3 import S3Client


@refusing
def handler(event: dict[str, Any], context: Any) -> StagedImage:
    job = contracts.validate("StageImageInput", event)
    with logs.correlate(job["execution_name"]), aws.aws_errors():
        wired = services.current()
        wired.settings.require("images_bucket")
        staged = stage_image(job["request"], job["execution_name"], wired.settings, wired.bot, wired.s3)
    return contracts.validate("StagedImage", staged)


def _too_large(size: int, limit: int) -> FileTooLarge:
    return FileTooLarge(f"the file has {size} bytes; bots may download at most {limit}")


def stage_image(
    request: ImageRequest, execution_name: str, settings: Settings, bot: telebot.TeleBot, s3: S3Client
) -> StagedImage:
    # Imported on the first call, not with the module: Telegram's client (telebot,
    # requests) and Pillow are most of this function's imports, and a handler
    # module's own import stays cheap (cold starts, docs/performance.md).
    from polybot import imaging
    from polybot.telegram import download, telegram_errors

    started = time.perf_counter()
    limit = settings.max_download_bytes
    size = request.get("file_size") or 0
    if size > limit:
        raise _too_large(size, limit)
    with telegram_errors():
        file = bot.get_file(request["file_id"])
        if (file.file_size or 0) > limit:
            raise _too_large(file.file_size or 0, limit)
        data = download(bot.token, str(file.file_path), limit, settings)
    info = imaging.inspect_image(data)
    key = naming.original_key(execution_name, info.content_type)
    s3.put_object(
        Bucket=settings.images_bucket,
        Key=key,
        Body=data,
        ContentType=info.content_type,
        Metadata={"chat-id": str(request["chat_id"]), "message-id": str(request["message_id"])},
    )
    return {
        "bucket": settings.images_bucket,
        "original_key": key,
        "annotated_key": naming.annotated_key(execution_name),
        "content_type": info.content_type,
        "size_bytes": len(data),
        "width": info.width,
        "height": info.height,
        "stage_ms": int((time.perf_counter() - started) * 1000),
    }
