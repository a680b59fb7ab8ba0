"""Polybot on one machine, for developers and tests: embedded AWS (moto, with
real Step Functions execution, the Lambda handlers running beside it, in a
process of its own), the template deployed to it, and a Telegram Bot API
stand-in. Not deployed anywhere.

`python -m local` runs sample photos through the whole pipeline.
"""
