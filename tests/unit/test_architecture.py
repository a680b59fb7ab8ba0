"""Which way imports go between the parts of the repository (STYLE.md: the
shape of the system is the shape of the repo).

- `polybot` is shared by the deployable parts and imports none of them;
- the deployable parts (`bot`, `inference`, `functions`) import only
  `polybot`: not each other, nor the tools;
- the tools may import what they run: `local` (the stack on one machine) the
  deployable parts, `benchmarks` those and `local`;
- no first-party module sits in an import cycle;
- no module imports another's private (`_name`) names.

The graph is grimp's (the engine of import-linter), built from the source:
imports inside functions and under TYPE_CHECKING count too. The last tests
show that each check catches what it is for.
"""

from __future__ import annotations

import ast
import copy
from functools import cache
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = "polybot"
DEPLOYABLE = ("bot", "inference", "functions")
TOOLS = ("local", "benchmarks")
FIRST_PARTY = (SHARED, *DEPLOYABLE, *TOOLS)
LAYERS = ["benchmarks", "local", grimp.Layer(*DEPLOYABLE, independent=True), SHARED]
"""Highest first: a layer may import those below it, never those above it nor
(the deployable parts) its siblings."""


@cache
def import_graph() -> grimp.ImportGraph:
    return grimp.build_graph(*FIRST_PARTY, cache_dir=None)


def import_cycles(graph: grimp.ImportGraph) -> list[str]:
    """Each cycle once, as `a -> b -> ... -> a`."""
    found: dict[frozenset[str], str] = {}
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None:
                found.setdefault(frozenset(back), " -> ".join((importer, *back)))
    return sorted(found.values())


def layer_violations(graph: grimp.ImportGraph) -> list[str]:
    """Each import chain from a part to one it may not import, as `a -> b -> ...`."""
    chains = []
    for dependency in graph.find_illegal_dependencies_for_layers(layers=LAYERS):
        for route in dependency.routes:
            for head in route.heads:
                for tail in route.tails:
                    chains.append(" -> ".join((head, *route.middle, tail)))
    return sorted(chains)


def source_file(module: str) -> Path:
    path = REPO.joinpath(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def private_names_imported(module: str, source: str, is_package: bool = False) -> list[str]:
    """`from <first-party module> import _name` in `source` (the text of `module`)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:  # relative: from the module's package, `level - 1` packages up
            package = module.split(".") if is_package else module.split(".")[:-1]
            origin = ".".join([*package[: len(package) - node.level + 1], *filter(None, [node.module])])
        else:
            origin = node.module or ""
        if origin.split(".")[0] not in FIRST_PARTY:
            continue
        for alias in node.names:
            if alias.name.startswith("_") and not alias.name.startswith("__"):
                found.append(f"{module}:{node.lineno}: from {origin} import {alias.name}")
    return found


def private_imports(graph: grimp.ImportGraph) -> list[str]:
    found = []
    for module in sorted(graph.modules):
        path = source_file(module)
        found += private_names_imported(module, path.read_text(encoding="utf-8"), path.name == "__init__.py")
    return found


def test_the_graph_holds_every_first_party_package() -> None:
    graph = import_graph()

    assert set(FIRST_PARTY) <= graph.modules
    assert graph.direct_import_exists(importer="inference.worker", imported="inference.heartbeat")
    # An import inside a function counts (benchmarks.models imports it there).
    assert graph.direct_import_exists(importer="benchmarks.models", imported="benchmarks.pipeline")


def test_no_first_party_module_is_in_an_import_cycle() -> None:
    cycles = import_cycles(import_graph())

    assert not cycles, "import cycles (move what both sides need to where it belongs):\n" + "\n".join(cycles)


def test_polybot_imports_no_deployable_part_and_the_deployable_parts_not_each_other() -> None:
    chains = layer_violations(import_graph())

    assert not chains, "imports against the layers (LAYERS):\n" + "\n".join(chains)


def test_no_module_imports_a_private_name_of_another() -> None:
    imports = private_imports(import_graph())

    assert not imports, "private names imported (give them a public name):\n" + "\n".join(imports)


# --- each check catches what it is for --------------------------------------
def with_import(importer: str, imported: str) -> grimp.ImportGraph:
    graph = copy.deepcopy(import_graph())
    graph.add_import(importer=importer, imported=imported)
    return graph


def test_a_cycle_is_caught() -> None:
    graph = with_import("inference.heartbeat", "inference.worker")

    assert "inference.heartbeat -> inference.worker -> inference.heartbeat" in import_cycles(graph)


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("polybot.settings", "bot.service"),
        ("polybot.aws", "local.embedded_aws"),
        ("bot.pipeline", "inference.detector"),
        ("functions.stage_image", "bot.texts"),
        ("inference.worker", "local.models"),
        ("functions.send_reply", "benchmarks.models"),
        ("local.polybot_stack", "benchmarks.models"),
    ],
)
def test_an_import_against_the_layers_is_caught(importer: str, imported: str) -> None:
    assert f"{importer} -> {imported}" in layer_violations(with_import(importer, imported))


@pytest.mark.parametrize(
    ("module", "source", "is_package"),
    [
        ("benchmarks.models", "from inference.detector import load_backend, _fetched_weights\n", False),
        ("inference.worker", "def f():\n    from .heartbeat import _private\n", False),
        ("inference", "from .heartbeat import _private\n", True),
    ],
)
def test_a_private_name_imported_is_caught(module: str, source: str, is_package: bool) -> None:
    assert len(private_names_imported(module, source, is_package)) == 1


def test_public_names_and_other_packages_private_names_pass() -> None:
    source = "from inference.heartbeat import Heartbeat, __doc__\nfrom os import _exit\n"

    assert private_names_imported("inference.worker", source) == []
