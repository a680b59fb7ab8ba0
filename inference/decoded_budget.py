"""How many decoded pixels the worker holds for images waiting for the model.

With many messages in flight (`prefetch`, inference/overlap.py), what bounds
the worker's memory is not their number but their images' size once decoded:
a 100-megapixel photo is 300 MB of pixels, a Telegram photo about 4 MB. The
worker decodes an image only when the pixels already waiting leave room for it
(`PREFETCHED_PIXELS`: two of the largest, what tests/faults/test_memory.py's
budget counts), by the size StageImage measured and the task carries; the
image gives its room back when the model takes it. Used by
`inference.worker.DetectionWorker`.
"""

from __future__ import annotations

import threading

from polybot import imaging

PREFETCHED_PIXELS = 2 * imaging.MAX_PIXELS
"""Decoded pixels waiting for the model at most: two of the largest images accepted."""


class DecodedBudget:
    """Room for `limit` decoded pixels, taken before a decode and given back when the model takes the image."""

    def __init__(self, limit: int = PREFETCHED_PIXELS) -> None:
        self._limit = limit
        self._held = 0
        self._changed = threading.Condition()
        self.peak = 0
        """The most pixels held at once."""

    def take(self, pixels: int) -> int:
        """Waits until `pixels` fit (an image larger than the whole budget: until
        nothing else is held); the room taken, for `give_back`."""
        wanted = max(0, min(pixels, self._limit))
        with self._changed:
            self._changed.wait_for(lambda: self._held + wanted <= self._limit)
            self._held += wanted
            self.peak = max(self.peak, self._held)
        return wanted

    def give_back(self, pixels: int) -> None:
        if pixels <= 0:
            return
        with self._changed:
            self._held -= pixels
            self._changed.notify_all()
