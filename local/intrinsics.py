"""CloudFormation's intrinsic functions, as a stack resolves them: `Ref`,
`Fn::GetAtt`, `Fn::Sub` (with or without its own variables) and `Fn::Join`;
any other `Fn::` is refused rather than passed on unresolved.

Where the values come from is the subclass's: the local deployment
(local/stack.py) answers with what it created in the embedded AWS; the IAM
tests (tests/auxil/template.py) with the names and ARNs AWS would give a stack.
"""

from __future__ import annotations

import re
from typing import Any

SUB_VARIABLE = re.compile(r"\$\{([^}!]+)\}")
"""A `${Name}` or `${Resource.Attribute}` of Fn::Sub (not the literal `${!...}`)."""


class UnresolvedFunction(ValueError):
    """An intrinsic function the resolver does not know."""


class Intrinsics:
    """`resolve(value)`: the value with every intrinsic function replaced by what it stands for."""

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            return self.ref(value["Ref"])
        if "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            return self.attribute(logical_id, attribute)
        if "Fn::Sub" in value:
            text, variables = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
            return SUB_VARIABLE.sub(lambda m: self._sub_variable(m.group(1), variables), text)
        if "Fn::Join" in value:
            delimiter, items = value["Fn::Join"]
            return delimiter.join(str(v) for v in self.resolve(items))
        unknown = [k for k in value if k.startswith("Fn::")]
        if unknown:
            raise UnresolvedFunction(f"{unknown[0]} is not resolved here")
        return {k: self.resolve(v) for k, v in value.items()}

    def ref(self, name: str) -> str:
        """What `!Ref name` stands for: a pseudo parameter, a parameter or a resource."""
        raise NotImplementedError

    def attribute(self, logical_id: str, attribute: str) -> str:
        """What `!GetAtt logical_id.attribute` stands for."""
        raise NotImplementedError

    def _sub_variable(self, name: str, variables: dict[str, Any]) -> str:
        if name in variables:
            return str(self.resolve(variables[name]))
        if "." in name:
            logical_id, attribute = name.split(".", 1)
            return self.attribute(logical_id, attribute)
        return self.ref(name)
