"""`python -m local.models DEST`: put the production model's weights file
(`polybot.settings.Settings().model`, the one place it is named) into DEST, for
the worker image to bake in (`make models` → build/models/, which
inference/Dockerfile copies).

The weights come from ../shared/models where a developer machine keeps them
(machines without internet), else from Ultralytics' release assets (CI and
machines with internet). Set POLYBOT_MODEL_SHA256 to refuse any other file.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import urllib.request
from pathlib import Path

from polybot.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
DEVELOPER_MODELS = REPO_ROOT.parent / "shared" / "models"
"""Developer machines keep COCO-trained weights beside the repository (its README says where they come from)."""
RELEASE_URL = "https://github.com/ultralytics/assets/releases/download/v8.3.0/{name}"
DOWNLOAD_TIMEOUT_S = 120


def sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def stage_weights(destination: Path, settings: Settings | None = None) -> Path:
    """The production model's weights file in `destination` (copied or downloaded once)."""
    name = Path((settings or Settings.from_env()).model).name
    destination.mkdir(parents=True, exist_ok=True)
    target = destination / name
    if not target.is_file():
        local = DEVELOPER_MODELS / name
        if local.is_file():
            shutil.copyfile(local, target)
        else:
            partial = target.with_suffix(".part")
            with urllib.request.urlopen(RELEASE_URL.format(name=name), timeout=DOWNLOAD_TIMEOUT_S) as answer:  # noqa: S310 - fixed https URL
                partial.write_bytes(answer.read())
            partial.rename(target)
    expected = os.environ.get("POLYBOT_MODEL_SHA256")
    if expected and sha256(target) != expected:
        target.unlink()
        raise ValueError(f"{name}: sha256 is not POLYBOT_MODEL_SHA256={expected}")
    # Only the production model goes into the image.
    for other in destination.iterdir():
        if other != target:
            other.unlink()
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.models", description=__doc__)
    parser.add_argument("destination", type=Path)
    args = parser.parse_args(argv)
    print(stage_weights(args.destination))
    return 0


if __name__ == "__main__":
    sys.exit(main())
