"""Docker builds that do not fill the disk.

Docker's legacy builder (Debian's docker.io, as on CI's machines) keeps the
image a tag named before each rebuild, and every untagged stage of a
multi-stage build: the worker's export stage is 7.5 GB with PyPI's torch, and
a test run left 8.7 GB behind, until CI's disk was full and `make test`
failed while installing. So each build here runs inside `replacing()`, which
at the end removes the images the tag's repository named before and names no
more (an image another tag or a container still holds stays):

- `make bot-image` and `make worker-image` build through this module; the
  worker's export stage gets a tag of its own (WORKER_EXPORT_IMAGE in the
  Makefile), so it stays the next build's cache instead of an untagged stage;
- `sam local invoke` (local.invoke) rebuilds its image of the Lambda runtime
  whenever the template's layer changed, under the same tag.

    python -m local.images TAG [docker build arguments]   (the context: the current directory)

Standard library only, as `make models`: the image targets run without `make setup`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from local.containers import docker, inspected

SAM_REPOSITORY = "samcli/lambda-python"
"""Where `sam local invoke` tags its images of the Python runtimes (with the layer baked in)."""


def repository_of(tag: str) -> str:
    """The repository a tag names: polybot-bot:test -> polybot-bot (a registry's port is not a tag)."""
    name, _, version = tag.rpartition(":")
    return name if name and "/" not in version else tag


def tagged(repository: str) -> set[str]:
    """The IDs of the images that `repository` names now."""
    done = subprocess.run(  # noqa: S603 - argv built here, no shell
        [docker(), "images", "--no-trunc", "--format", "{{.ID}}", repository],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(done.stdout.split())


@contextmanager
def replacing(repository: str) -> Iterator[None]:
    """Removes, at the end, the images `repository` named at the start and names no more."""
    before = tagged(repository)
    try:
        yield
    finally:
        for replaced in sorted(before - tagged(repository)):
            if untagged(replaced):
                # Fails, and is meant to, where a container holds the image.
                subprocess.run(  # noqa: S603 - argv built here, no shell
                    [docker(), "image", "rm", replaced], capture_output=True, timeout=120, check=False
                )


def untagged(image_id: str) -> bool:
    """Whether the image exists and no tag names it (`docker image rm ID` would untag it from every repository)."""
    return inspected(image_id, "{{len .RepoTags}}") == "0"


def build(tag: str, arguments: list[str]) -> int:
    """`docker build ARGUMENTS -t TAG .`, removing the image TAG replaces; docker's exit status."""
    with replacing(repository_of(tag)):
        return subprocess.run([docker(), "build", *arguments, "-t", tag, "."], check=False).returncode  # noqa: S603


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.images", description=__doc__)
    parser.add_argument("tag", help="the image's tag, e.g. polybot-bot:dev")
    parser.add_argument("docker_arguments", nargs=argparse.REMAINDER, help="passed to docker build")
    arguments = parser.parse_args(argv)
    return build(arguments.tag, arguments.docker_arguments)


if __name__ == "__main__":
    sys.exit(main())
