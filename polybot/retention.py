"""Every record has an end: the `expires_at` each item of the results table carries
(the table's TTL attribute, seconds since the epoch), from the one retention
setting (polybot.settings `retention_days`) that also sets the images bucket's
lifecycle (template.yaml `RetentionDays`).

Who stamps what: the bot stamps each ImageRequest with its end (`expires_at`),
which the workflow copies onto the image's results or failure item, and which
the reply ledger keeps (it sets one only on an item that has none); albums,
preferences, quota counters and the /forget marker stamp their own. DynamoDB
deletes an expired item within days of its end, not at once (its TTL is a
background sweep), so the reading code does not rely on it.
"""

from __future__ import annotations

DAY_S = 24 * 3600


def retention_s(retention_days: int) -> int:
    """The retention in seconds; refused when it is no positive number of days (an
    item without an end, or one ended before it is written, would be a bug)."""
    if retention_days < 1:
        raise ValueError(f"the retention must be at least one day, not {retention_days}")
    return retention_days * DAY_S


def expires_at(now_s: float, retention_days: int, keep_s: int | None = None) -> int:
    """The end of an item written at `now_s`: after the retention, or after `keep_s`
    where the item is needed for less (an album's item, a photo count)."""
    keep = retention_s(retention_days)
    return int(now_s) + (min(keep, keep_s) if keep_s is not None else keep)
