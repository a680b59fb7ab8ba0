"""The workflow's Lambda functions: StageImage, SendReply and NotifyFailure.

Deployed by template.yaml with `CodeUri: functions/` (the `polybot` link in
this folder brings the shared package into the deployment package); run
in-process by the local stack (`local/lambda_runtime.py`). Each handler
validates its input and output against `polybot/contracts`.
"""
