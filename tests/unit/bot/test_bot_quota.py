"""The chat's photo quota and the one notice of a burst over it (bot/quota.py;
issue 19, rough edge 4), on a moto results table."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.quota import ChatQuota, SkippedPhoto, slow_down_text
from tests.auxil.moto_results import moto_results

TABLE = "results"
CHAT = 4242
NOW = 28_333_333 * 60 + 10.0
"""Ten seconds into a minute."""


@pytest.fixture
def quota(monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatQuota]:
    with moto_results(monkeypatch, TABLE) as (dynamodb, _):
        yield ChatQuota(dynamodb, TABLE, photos_per_minute=1, clock=lambda: NOW)


def test_a_photo_over_the_quota_says_when_the_count_starts_again(quota: ChatQuota) -> None:
    first, second = quota.check(CHAT), quota.check(CHAT)

    assert first.allowed and not second.allowed
    assert second.retry_after_s == 50 and second.window == first.window


def test_the_first_skipped_photo_of_a_minute_tells_the_chat_and_the_others_find_its_notice(quota: ChatQuota) -> None:
    window = quota.check(CHAT).window
    first = quota.skip(CHAT, window, SkippedPhoto(11))
    again = quota.skip(CHAT, window, SkippedPhoto(11))  # its update delivered again, before the notice was kept
    later = quota.skip(CHAT, window, SkippedPhoto(12, "album-1"))
    quota.keep_notice(CHAT, window, 900)
    last = quota.skip(CHAT, window, SkippedPhoto(13, "album-1"))

    assert first.tells and again.tells and not later.tells and not last.tells
    assert later.notice is None and last.notice == 900
    assert [p.message_id for p in last.photos] == [11, 12, 13]
    assert last.photos[1] == SkippedPhoto(12, "album-1")
    assert quota.skipped(CHAT, window) == last
    assert not quota.skip(CHAT, window, SkippedPhoto(11)).tells, "once the notice is kept, nobody sends another"


@pytest.mark.parametrize(
    ("photos", "language", "expected"),
    [
        ([SkippedPhoto(1)], "en", "so I skipped 1 photo. Please send it again in 40 seconds."),
        (
            [SkippedPhoto(1), SkippedPhoto(2), SkippedPhoto(3, "a"), SkippedPhoto(4, "a"), SkippedPhoto(5, "b")],
            "en",
            "so I skipped 2 photos and 3 photos in 2 albums. Please send them again in 40 seconds.",
        ),
        ([SkippedPhoto(3, "a"), SkippedPhoto(4, "a")], "es", "me salté 2 fotos en 1 álbum. Vuelve a enviarlas"),
        ([SkippedPhoto(3, "a"), SkippedPhoto(4, "b")], "ru", "пропустил 2 фото в 2 альбомах. Пришлите их ещё раз"),
    ],
)
def test_the_notice_names_what_was_skipped_and_when_to_send_it_again(
    photos: list[SkippedPhoto], language: str, expected: str
) -> None:
    assert expected in slow_down_text(photos, 40, language)
    assert "через 40 секунд." in slow_down_text(photos, 40, "ru")
