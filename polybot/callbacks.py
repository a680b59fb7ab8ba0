"""The callback_data of Polybot's inline buttons: a prefix that says what a tap
does, then what it does it to. The workflow puts a Details button on its answers
(functions/send_reply.py); the bot puts buttons on its Details (a crop per
object), /history and /settings messages, and answers every tap (bot/handlers.py).
"""

from __future__ import annotations

DETAILS = "d:"
"""The Details button: "d:<execution name>" lists what was found in that image, or in each photo of that album."""
HISTORY = "h:"
"""A /history button: "h:<execution name>" sends that annotated image again."""
HISTORY_PAGE = "p:"
"""A /history page button: "p:<o|n><message id>:<class>:<received_at>" edits the listing
into the page older (o) or newer (n) than that image, only images where <class> (a model
class name, or nothing) was found (bot/history.py, PageRequest)."""
CROP = "c:"
"""A crop button under Details: "c:<execution name of one image>:<index into its stored detections>"
sends that object cut from the original (bot/crops.py)."""
SETTINGS = "s:"
"""A /settings button: "s:<field>:<value>" changes that preference."""
FORGET = "f:"
"""The /forget confirmation's buttons: "f:yes" deletes everything kept for the chat, "f:no" cancels."""
FORGET_YES = FORGET + "yes"
FORGET_NO = FORGET + "no"

MAX_BYTES = 64
"""Telegram refuses a button whose callback_data is longer (core.telegram.org/bots/api#inlinekeyboardbutton)."""
