"""Every Lambda handler module imports cheaply: its import (a cold start's Init on
Lambda) pulls in none of the heavy client libraries, which each handler imports
when a call needs them (docs/performance.md, cold starts).

Checked without timing: each module that a `Handler:` in template.yaml names
(every function, present and future) is imported in a fresh interpreter, and
`sys.modules` must then hold none of HEAVY. Whether a call still finds what it
imports later is the functions' own tests' and the e2e photo test's concern.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from local.stack import load_template

ROOT = Path(__file__).resolve().parents[3]

HEAVY = {
    "telebot": "pyTelegramBotAPI: with requests, about 0.2-0.5 s to import here",
    "requests": "telebot's HTTP client and polybot.telegram.download",
    "urllib3": "requests' and botocore's connection pools",
    "jsonschema_rs": "the contracts' validator: about 35 ms",
    "jsonschema": "the reference validator, for the tests only (with referencing: about 0.1-0.3 s)",
    "referencing": "jsonschema's $ref resolution",
    "PIL": "Pillow, only for the calls that read or scale an image",
    "pi_heif": "HEIF for Pillow: 30 ms of constants alone",
    "boto3": "not used by the functions at all (polybot.aws makes botocore clients)",
    "s3transfer": "boto3's S3 transfer manager, about 0.1 s",
    "botocore.session": "botocore's session, loaders and endpoint data: about 0.2 s",
    "botocore.client": "what a client is made of",
}
"""Module (or package) -> why it may not be imported with a handler module. From
`python -X importtime` on this machine (2 cores, busy): together over 0.4 s."""


def handler_modules() -> dict[str, str]:
    """Function logical id -> the module its Handler names, as the repository holds it."""
    resources = load_template(ROOT / "template.yaml")["Resources"]
    return {
        logical_id: "functions." + resource["Properties"]["Handler"].rsplit(".", 1)[0]
        for logical_id, resource in resources.items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


IMPORT_AND_REPORT = """
import json, sys
import {module} as handler_module
from functions import services
print(json.dumps({{
    "modules": sorted(sys.modules),
    "has_handler": callable(getattr(handler_module, "handler", None)),
    "services_built": services._current is not None,
}}))
"""


def imported_by(module: str) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_AND_REPORT.format(module=module)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_every_function_of_the_template_is_checked() -> None:
    modules = handler_modules()
    assert {"StageImageFunction", "SendReplyFunction", "NotifyFailureFunction", "GatherAlbumFunction"} <= set(modules)


@pytest.mark.parametrize("module", sorted(set(handler_modules().values())))
def test_importing_a_handler_module_imports_no_heavy_library(module: str) -> None:
    report = imported_by(module)
    assert report["has_handler"], f"{module} has no handler"
    modules = report["modules"]
    assert isinstance(modules, list)
    roots = sorted(h for h in HEAVY if any(name == h or name.startswith(h + ".") for name in modules))
    assert not roots, f"importing {module} imports {', '.join(f'{r} ({HEAVY[r]})' for r in roots)}"
    # Module-level work: no settings read, no clients or bot made at import.
    assert report["services_built"] is False
