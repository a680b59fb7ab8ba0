"""Everything the bot itself says (the workflow's replies live with its functions)."""

WELCOME = (
    "Hi! I'm Polybot. Send me a photo and I'll send it back with boxes around "
    "the things I recognise (people, animals, vehicles, everyday objects) and a "
    "short summary.\n\nYou can also send an image as a file (JPEG, PNG, WebP), "
    "up to 20 MB."
)

HINT = "I understand photos. Send me one (or an image file), or /help to see what I do."

NOT_AN_IMAGE_FILE = "That file doesn't look like an image. Send me a photo, or an image file (JPEG, PNG or WebP)."

UNAVAILABLE = "Sorry, I can't start analysing photos right now. Please send it again in a minute."

UNREADABLE_IMAGE_MESSAGE = "I couldn't get that image from Telegram's message. Please send it again."

SLOW_DOWN = (
    "You're sending photos faster than I can look at them. "
    "Please wait a minute, then send the ones I haven't answered again."
)
