"""Polybot on one machine, for developers and tests: embedded AWS (moto, with
real Step Functions execution), the template deployed to it, Lambda handlers
run in-process, and a Telegram Bot API stand-in. Not deployed anywhere.

`python -m local` runs sample photos through the whole pipeline.
"""
