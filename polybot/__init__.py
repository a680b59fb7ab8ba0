"""Code shared by Polybot's deployable parts: message contracts, settings,
AWS clients, Telegram access, logging and the plain-language summary.

The bot (`bot/`), the Lambda functions (`functions/`), the YOLO worker
(`inference/`) and the local stack (`local/`) import from here; nothing here
imports from them.
"""
