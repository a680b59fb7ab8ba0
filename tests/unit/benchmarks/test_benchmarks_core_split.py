"""The networked bench compares the worker with the model alone on the same
core(s), apart from the embedded AWS's (benchmarks/networked.py, `CoreSplit`):
the split never gives a CPU to both sides when there are two or more, gives
every CPU to one side or the other, and the launcher really runs the module
on the CPUs named, from its first line, with its own arguments."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.networked import core_split, pinned
from local.polybot_stack import REPO_ROOT


@pytest.mark.parametrize("cpus", [{0, 1}, {2, 5}, {0, 1, 2}, {0, 1, 2, 3}, set(range(16))])
def test_two_or_more_cpus_are_split_without_sharing_and_without_leaving_any(cpus: set[int]) -> None:
    split = core_split(cpus)
    assert split.aws and split.worker
    assert not set(split.aws) & set(split.worker)
    assert set(split.aws) | set(split.worker) == cpus
    assert not split.shared
    assert len(split.worker) >= len(split.aws)


def test_one_cpu_is_shared_and_says_so() -> None:
    split = core_split({3})
    assert split.aws == split.worker == (3,)
    assert split.shared
    assert split.as_dict()["shared"] is True


def test_the_launcher_runs_the_module_on_the_cpus_named_with_its_arguments(tmp_path: Path) -> None:
    (tmp_path / "report_affinity.py").write_text(
        "import os, sys\nfrom inference.backends import cores\n"
        "print(sorted(os.sched_getaffinity(0)), cores(), sys.argv[1:], __name__)\n"
    )
    cpu = max(os.sched_getaffinity(0))
    done = subprocess.run(
        [sys.executable, *pinned((cpu,), ["-m", "report_affinity", "--images", "3"])],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO_ROOT)])},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert done.stdout.split("\n")[0] == f"[{cpu}] 1 ['--images', '3'] __main__"
