"""CloudWatch Logs metric filter patterns, for tests that hold a filter to the log
lines our code writes (polybot/logs.py: one JSON object per line).

`matches(pattern, line)` evaluates a JSON filter pattern the way CloudWatch Logs
documents it: `{ SELECTOR OPERATOR VALUE }` with `$.a.b` / `$.a[0]` selectors,
`=` and `!=` on strings (quoted or bare, `*` as a wildcard) and numbers, `<`,
`>`, `<=`, `>=` on numbers, `IS TRUE | FALSE | NULL`, `NOT EXISTS`, joined with
`&&`, `||` and parentheses. A line that is not JSON never matches. Anything
outside that grammar raises ValueError, so a pattern this reading does not know
fails its test instead of passing it.

`bot_metric_filters()` reads the patterns of terraform/modules/bot's metric
filters as committed (its `log_metrics` local), for the unit tests, which run
no terraform.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BOT_MODULE = ROOT / "terraform" / "modules" / "bot" / "main.tf"

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<punct>&&|\|\||[{}()])
    | (?P<operator>!=|<=|>=|=|<|>)
    | (?P<selector>\$(?:\.[A-Za-z_][\w-]*|\[\d+\])*)
    | (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<number>-?\d+(?:\.\d+)?(?![\w*]))
    | (?P<word>[\w*.:/-]+)
    )""",
    re.VERBOSE,
)
_MISSING = object()


def _tokens(pattern: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(pattern.rstrip()):
        found = _TOKEN.match(pattern, position)
        if found is None or found.end() == position:
            raise ValueError(f"not a JSON filter pattern this reading knows, at {pattern[position:]!r}")
        kind = found.lastgroup or ""
        tokens.append((kind, found.group(kind)))
        position = found.end()
    return tokens


def _select(document: Any, selector: str) -> Any:
    value = document
    for step in re.findall(r"\.([A-Za-z_][\w-]*)|\[(\d+)\]", selector[1:]):
        name, index = step
        if name and isinstance(value, dict) and name in value:
            value = value[name]
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            return _MISSING
    return value


def _compare(value: Any, operator: str, kind: str, literal: str) -> bool:
    if value is _MISSING:
        return False
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        number = float(literal)
        return {
            "=": value == number,
            "!=": value != number,
            "<": value < number,
            ">": value > number,
            "<=": value <= number,
            ">=": value >= number,
        }[operator]
    if operator not in {"=", "!="}:
        raise ValueError(f"{operator} compares numbers only")
    text = json.loads(literal) if kind == "string" else literal
    if not isinstance(value, str):
        return False
    equal = re.fullmatch(".*".join(re.escape(part) for part in text.split("*")), value) is not None
    return equal if operator == "=" else not equal


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], document: Any) -> None:
        self.tokens, self.document, self.at = tokens, document, 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.at] if self.at < len(self.tokens) else ("end", "")

    def take(self, expected: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "end" or (expected is not None and token[1] != expected):
            raise ValueError(f"expected {expected or 'more'}, found {token[1] or 'the end'}")
        self.at += 1
        return token

    def disjunction(self) -> bool:
        result = self.conjunction()
        while self.peek()[1] == "||":
            self.take()
            result = self.conjunction() or result
        return result

    def conjunction(self) -> bool:
        result = self.condition()
        while self.peek()[1] == "&&":
            self.take()
            result = self.condition() and result
        return result

    def condition(self) -> bool:
        if self.peek()[1] == "(":
            self.take("(")
            result = self.disjunction()
            self.take(")")
            return result
        kind, selector = self.take()
        if kind != "selector":
            raise ValueError(f"expected a selector ($.field), found {selector}")
        value = _select(self.document, selector)
        kind, word = self.take()
        if kind == "word" and word == "IS":
            _, what = self.take()
            expected = {"TRUE": True, "FALSE": False, "NULL": None}.get(what, _MISSING)
            if expected is _MISSING:
                raise ValueError(f"IS {what}: only TRUE, FALSE and NULL")
            return value is not _MISSING and value is expected
        if kind == "word" and word == "NOT":
            self.take("EXISTS")
            return value is _MISSING
        if kind != "operator":
            raise ValueError(f"expected an operator after {selector}, found {word}")
        literal_kind, literal = self.take()
        if literal_kind not in {"string", "number", "word"}:
            raise ValueError(f"expected a value after {word}, found {literal}")
        return _compare(value, word, literal_kind, literal)


def matches(pattern: str, line: str) -> bool:
    """Whether CloudWatch Logs would count `line` for the JSON filter `pattern`."""
    tokens = _tokens(pattern)
    if not tokens or tokens[0][1] != "{" or tokens[-1][1] != "}":
        raise ValueError(f"not a JSON filter pattern (it is wrapped in braces): {pattern!r}")
    try:
        document = json.loads(line)
    except ValueError:
        document = _MISSING
    parser = _Parser(tokens[1:-1], document)
    result = parser.disjunction()
    if parser.peek()[0] != "end":
        raise ValueError(f"left over in {pattern!r}: {parser.peek()[1]}")
    return document is not _MISSING and result


_METRIC = re.compile(r'^\s*"(?P<name>[a-z-]+)" = \{\s*\n\s*pattern\s*=\s*"(?P<pattern>(?:[^"\\]|\\.)*)"', re.MULTILINE)


def bot_metric_filters(module: Path = BOT_MODULE) -> dict[str, str]:
    """The bot module's metric filter patterns by name (its `log_metrics` local), as
    Terraform reads them (HCL's \\" and \\\\ escapes undone)."""
    text = module.read_text(encoding="utf-8")
    block = text[text.index("log_metrics = {") :]
    return {m["name"]: json.loads(f'"{m["pattern"]}"') for m in _METRIC.finditer(block)}
