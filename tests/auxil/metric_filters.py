"""CloudWatch Logs metric filter patterns, evaluated here, for the subset we use.

A metric filter whose pattern matches no line its log group receives counts
nothing, and the alarm on its metric can never fire; nothing tells. The alarm
tests (tests/unit/test_template_alarms_can_fire.py, tests/infrastructure/test_terraform_alarms_can_fire.py)
run each pattern over the lines its log group really gets (tests/auxil/log_lines.py).

The subset, from CloudWatch's filter pattern syntax
(docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html):
- JSON patterns, `{ ... }`: property selectors `$.a.b` (no array indexes),
  compared with `=` / `!=` to a string (quoted or a bare word, `*` a wildcard)
  or with `=`, `!=`, `<`, `<=`, `>`, `>=` to a number; `&&`, `||` (not mixed
  without parentheses) and parentheses. A comparison on a property the event
  lacks does not match (AWS documents `NOT EXISTS` for absent properties; we
  use neither it nor a comparison that relies on it).
- Term patterns: words or quoted phrases, all of which the line must contain;
  the empty pattern matches every line.
Anything else (`?term`, `-term`, `[ ... ]` space-delimited patterns, `%regex%`,
`IS`, `EXISTS`, array selectors) is refused with OutsideSubset rather than
guessed at: extend this module, from the documentation, when a pattern needs it.

`bot_metric_filters()` reads the patterns of terraform/modules/bot's metric
filters as committed (its `log_metrics` local), for the unit tests, which run
no terraform.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BOT_MODULE = ROOT / "terraform" / "modules" / "bot" / "main.tf"

Line = str | Mapping[str, Any]
"""A log event: its text, or (JSON events) the object it holds."""


class OutsideSubset(ValueError):
    """The pattern uses syntax this matcher does not evaluate (see the module)."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<selector>\$(?:\.[A-Za-z0-9_@-]+)+)
      | (?P<op>&&|\|\||!=|<=|>=|=|<|>)
      | (?P<paren>[(){}])
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<number>-?\d+(?:\.\d+)?(?![A-Za-z0-9_*.]))
      | (?P<word>[A-Za-z0-9_.:/*@+-]+)
    )""",
    re.VERBOSE,
)
_NOT_SUPPORTED = re.compile(r"\bIS\b|\bEXISTS\b|\[|%")


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str


def _tokens(text: str) -> list[_Token]:
    found, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise OutsideSubset(f"cannot read {text[position:]!r} in {text!r}")
        kind = match.lastgroup or ""
        found.append(_Token(kind, match.group(kind)))
        position = match.end()
    return found


Predicate = Callable[[Mapping[str, Any]], bool]


class _JsonParser:
    def __init__(self, tokens: list[_Token], pattern: str) -> None:
        self.tokens, self.pattern, self.at = tokens, pattern, 0

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self, kind: str, text: str | None = None) -> _Token:
        token = self.peek()
        if token is None or token.kind != kind or (text is not None and token.text != text):
            raise OutsideSubset(f"expected {text or kind} at token {self.at} of {self.pattern!r}")
        self.at += 1
        return token

    def expression(self) -> Predicate:
        terms = [self.term()]
        joins: set[str] = set()
        while (token := self.peek()) is not None and token.text in ("&&", "||"):
            joins.add(token.text)
            self.at += 1
            terms.append(self.term())
        if len(joins) > 1:
            raise OutsideSubset(f"&& and || mixed without parentheses in {self.pattern!r}")
        if joins == {"||"}:
            return lambda event: any(term(event) for term in terms)
        return lambda event: all(term(event) for term in terms)

    def term(self) -> Predicate:
        token = self.peek()
        if token is not None and token.text == "(":
            self.at += 1
            inner = self.expression()
            self.take("paren", ")")
            return inner
        selector = self.take("selector").text
        operator = self.take("op").text
        if operator in ("&&", "||"):
            raise OutsideSubset(f"a comparison needs an operator after {selector} in {self.pattern!r}")
        value = self.peek()
        if value is None or value.kind not in ("string", "number", "word"):
            raise OutsideSubset(f"a value must follow {selector} {operator} in {self.pattern!r}")
        self.at += 1
        return _comparison(selector, operator, value)


def _select(event: Mapping[str, Any], selector: str) -> tuple[bool, Any]:
    current: Any = event
    for key in selector.split(".")[1:]:
        if not isinstance(current, Mapping) or key not in current:
            return False, None
        current = current[key]
    return True, current


def _wildcard(text: str) -> re.Pattern[str]:
    return re.compile("".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", text)), re.DOTALL)


def _comparison(selector: str, operator: str, value: _Token) -> Predicate:
    if value.kind == "number":
        number = float(value.text)
        compare: dict[str, Callable[[float], bool]] = {
            "=": lambda x: x == number,
            "!=": lambda x: x != number,
            "<": lambda x: x < number,
            "<=": lambda x: x <= number,
            ">": lambda x: x > number,
            ">=": lambda x: x >= number,
        }

        def numeric(event: Mapping[str, Any]) -> bool:
            present, found = _select(event, selector)
            ok = present and isinstance(found, int | float) and not isinstance(found, bool)
            return ok and compare[operator](float(found))

        return numeric
    if operator not in ("=", "!="):
        raise OutsideSubset(f"{operator} compares numbers, not the string {value.text}")
    text = json.loads(value.text) if value.kind == "string" else value.text
    pattern = _wildcard(text)

    def textual(event: Mapping[str, Any]) -> bool:
        present, found = _select(event, selector)
        if not present or not isinstance(found, str):
            return False
        return bool(pattern.fullmatch(found)) == (operator == "=")

    return textual


@dataclass(frozen=True)
class FilterPattern:
    """A parsed pattern; `matches(line)` says whether the metric filter counts it."""

    text: str
    _predicate: Callable[[Line], bool]

    def matches(self, line: Line) -> bool:
        return self._predicate(line)


def parse(pattern: str) -> FilterPattern:
    """The pattern's meaning, or OutsideSubset."""
    text = " ".join(pattern.split())
    if _NOT_SUPPORTED.search(_outside_strings(text)):
        raise OutsideSubset(f"{pattern!r} uses syntax outside the subset (see tests/auxil/metric_filters.py)")
    if text.startswith("{"):
        tokens = _tokens(text)
        parser = _JsonParser(tokens, text)
        parser.take("paren", "{")
        predicate = parser.expression()
        parser.take("paren", "}")
        if parser.peek() is not None:
            raise OutsideSubset(f"something follows the closing brace of {pattern!r}")

        def json_line(line: Line) -> bool:
            event = _as_event(line)
            return event is not None and predicate(event)

        return FilterPattern(text, json_line)
    terms = _terms(text)

    def term_line(line: Line) -> bool:
        raw = line if isinstance(line, str) else json.dumps(line)
        return all(term in raw for term in terms)

    return FilterPattern(text, term_line)


def _outside_strings(text: str) -> str:
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', text)


def _terms(text: str) -> list[str]:
    terms = []
    for token in _tokens(text) if text else []:
        if token.kind == "string":
            terms.append(json.loads(token.text))
        elif token.kind in ("word", "number") and not token.text.startswith(("?", "-")):
            terms.append(token.text)
        else:
            raise OutsideSubset(f"{token.text!r} in the term pattern {text!r} is outside the subset")
    return terms


def _as_event(line: Line) -> Mapping[str, Any] | None:
    if not isinstance(line, str):
        return line
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def matches(pattern: str, line: Line) -> bool:
    """Whether CloudWatch Logs would count `line` for `pattern` (OutsideSubset if it cannot tell)."""
    return parse(pattern).matches(line)


_METRIC = re.compile(r'^\s*"(?P<name>[a-z-]+)" = \{\s*\n\s*pattern\s*=\s*"(?P<pattern>(?:[^"\\]|\\.)*)"', re.MULTILINE)


def bot_metric_filters(module: Path = BOT_MODULE) -> dict[str, str]:
    """The bot module's metric filter patterns by name (its `log_metrics` local), as
    Terraform reads them (HCL's \\" and \\\\ escapes undone)."""
    text = module.read_text(encoding="utf-8")
    block = text[text.index("log_metrics = {") :]
    return {m["name"]: json.loads(f'"{m["pattern"]}"') for m in _METRIC.finditer(block)}
