"""AWS on this machine: a moto server, in this process, with real Step
Functions execution turned on and Lambda invocations served by `LambdaRuntime`.

`faults` lets tests make chosen calls fail as AWS can (local/aws_faults.py).
While it runs, this process's AWS clients reach it: `start()` sets the
standard variables boto3 reads (AWS_ENDPOINT_URL, fake credentials, region)
and MOTO_PORT, which moto's Step Functions interpreter uses to call the
services back (see ../shared/NOTES.md).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import requests
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from local.aws_faults import AwsFaults
from local.lambda_runtime import LambdaRuntime

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"  # moto's default account


class _PresenceTestsAreNotErrors(logging.Filter):
    """moto's interpreter evaluates a Choice's `IsPresent` by trying the path and
    logs the miss at ERROR, though the state works as on AWS (IsAlbum does it for
    every single photo); every other error it logs still shows."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "NoSuchJsonPathError" not in record.getMessage()


logging.getLogger("moto.stepfunctions.parser.asl.component.eval_component").addFilter(_PresenceTestsAreNotErrors())


class _Dispatcher(DomainDispatcherApplication):
    """moto's dispatcher, remembering which backend serves which host.

    moto finds a request's backend by listing its package directory and
    stat-ing each of its ~200 entries, then trying its URL patterns, for every
    request and under one lock that all requests share: measured, a third of
    the emulator's time per S3 call, and every concurrent call waits on it.
    The answer depends only on the host, so each host's is looked up once."""

    def __init__(self, create_app: Any) -> None:
        super().__init__(create_app)
        self._backend_of: dict[str | None, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        if host not in self._backend_of:
            self._backend_of[host] = super().get_backend_for_host(host)
        return self._backend_of[host]


class EmbeddedAws:
    def __init__(self, host: str = "127.0.0.1") -> None:
        """`host` is the address to listen on: "0.0.0.0" lets containers reach it too."""
        self.host = host
        self.lambda_runtime = LambdaRuntime(_Dispatcher(create_backend_app))
        self.faults = AwsFaults(self.lambda_runtime)
        self._server: BaseWSGIServer | None = None

    @property
    def port(self) -> int:
        assert self._server is not None, "start() first"
        return int(self._server.server_port)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        self._server = make_server(self.host, 0, self.faults, threaded=True)
        threading.Thread(target=self._server.serve_forever, name="embedded-aws", daemon=True).start()
        os.environ.update(
            {
                "MOTO_PORT": str(self._server.server_port),
                "AWS_ENDPOINT_URL": self.endpoint_url,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
            }
        )
        response = requests.post(
            f"{self.endpoint_url}/moto-api/config",
            json={"stepfunctions": {"execute_state_machine": True}},
            timeout=10,
        )
        response.raise_for_status()
        return self.endpoint_url

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
