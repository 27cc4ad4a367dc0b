"""The package's shape: a short top level, imports that only run downward, no import cycle."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import grimp
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "liveblog")
# A newcomer's `ls liveblog/` should show the architecture on one screen.
MOST_TOP_LEVEL_MODULES = 10


def test_the_top_level_is_short():
    modules = [name for name in os.listdir(PACKAGE) if name.endswith(".py")]
    assert len(modules) <= MOST_TOP_LEVEL_MODULES, sorted(modules)


def test_every_package_says_what_it_is_for():
    for name in os.listdir(PACKAGE):
        init = os.path.join(PACKAGE, name, "__init__.py")
        if os.path.isdir(os.path.join(PACKAGE, name)) and name != "__pycache__":
            with open(init) as handle:
                assert handle.read().startswith('"""'), f"{name}/__init__.py needs a docstring"


def test_imports_follow_the_layers():
    # The contracts are in pyproject.toml; lint-imports exits non-zero when one is broken.
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), "lint-imports")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout[-3000:]


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    # Tarjan's strongly connected components: any with two or more modules is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph.modules):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_through_others():
    graph = grimp.build_graph("liveblog", exclude_type_checking_imports=True)
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    graph = grimp.ImportGraph()
    for module in ("a", "b", "c"):
        graph.add_module(module)
    graph.add_import(importer="a", imported="b")
    graph.add_import(importer="b", imported="a")
    graph.add_import(importer="b", imported="c")
    assert _cycles(graph) == [["a", "b"]]


DOCUMENTS = ("docs/architecture.md", "README.md")
# A file named in backquotes: a path with a folder, ending in a source file's extension.
NAMED_FILE = re.compile(r"`((?:[\w.-]+/)+[\w.-]+\.(?:py|js|html|toml|md))`")


@pytest.mark.parametrize("document", DOCUMENTS)
def test_the_documents_name_every_package_and_only_files_that_exist(document):
    with open(os.path.join(ROOT, document)) as handle:
        text = handle.read()
    packages = sorted(name for name in os.listdir(PACKAGE)
                      if os.path.isfile(os.path.join(PACKAGE, name, "__init__.py")))
    assert [name for name in packages if f"`{name}/`" not in text] == []
    missing = [path for path in NAMED_FILE.findall(text)
               if not any(os.path.exists(os.path.join(base, path)) for base in (ROOT, PACKAGE))]
    assert missing == []


def test_the_architecture_fits_on_one_page():
    with open(os.path.join(ROOT, "docs/architecture.md")) as handle:
        assert len(handle.read().splitlines()) <= 90
