"""The workflow's Lambda functions: StageImage, GatherAlbum, SendReply (and
SendAlbumReply) and NotifyFailure.

Deployed by template.yaml: `sam build` runs functions/Makefile, which packages
each handler module on its own, and the shared `polybot` package, this
package's `services` (the functions' one wiring) and `refusals` (how each
handler answers what the user did) and the third-party
dependencies (requirements.txt) as one layer, PolybotLayer. Run in the embedded AWS's process by
the local stack (`local/lambda_runtime.py`), which configures them with
`services.install`, and in the Lambda container by `make invoke`
(`local/invoke.py`). Each handler validates its input and output against
`polybot/contracts`.
"""
