"""The Telegram-facing web service: a Flask webhook (or long polling) in front
of pyTelegramBotAPI handlers that start one workflow execution per image.

`handlers` decides what each message gets; `pipeline` starts executions;
`app` is the Flask webhook; `service` wires them from settings; `__main__`
runs it (`python -m bot [serve | poll | register-webhook]`); `webhook` is the
deploy step that registers the webhook with Telegram.
"""
