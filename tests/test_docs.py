"""Docs that a test keeps true: the README's settings table is the settings module's list, and its
layout section names every file of the three packages (and nothing that is gone)."""
from __future__ import annotations

import re
import subprocess

from helpers import ROOT
from kb.settings import documented

README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


def test_the_settings_table_is_the_settings_module():
    table = README[README.index("<!-- settings -->"):README.index("<!-- /settings -->")]
    rows = [re.split(r"(?<!\\)\|", line)[1:-1] for line in table.splitlines() if line.startswith("| `")]
    listed = [(env.strip(" `"), option.strip(" `"), default.strip(), what.strip().replace("\\|", "|"))
              for env, option, default, what in rows]
    assert listed == [(d["env"], d["option"] or "", d["default"], d["help"]) for d in documented()]


def test_every_setting_read_by_the_code_is_in_the_settings_module():
    """No KB_* variable is read anywhere but kb/settings.py."""
    code = subprocess.run(["git", "grep", "-n", "-E", r"environ|getenv", "--", "kb", "index", "api"],
                          cwd=ROOT, capture_output=True, text=True).stdout.splitlines()
    readers = [line for line in code if not line.startswith("kb/settings.py") and "KB_" in line]
    assert readers == []


def test_the_layout_section_names_every_file_of_the_packages():
    layout = section("Layout")
    named: set[str] = set()
    for line in layout.splitlines():
        if not line.startswith("| `"):
            continue
        first = line.split("|")[1]
        items = re.findall(r"`([^`]+)`", first)
        folder = items[0].rsplit("/", 1)[0] + "/" if "/" in items[0] else ""
        named.update([items[0]] + [item if "/" in item.rstrip("/") else folder + item for item in items[1:]])
    files = subprocess.run(["git", "ls-files", "kb", "index", "api"], cwd=ROOT, capture_output=True,
                           text=True).stdout.split()
    covered = {f for f in files if f in named or any(n.endswith("/") and f.startswith(n) for n in named)}
    assert sorted(set(files) - covered) == [], "files the README's layout does not name"
    assert sorted(n for n in named if not any(f == n or f.startswith(n) for f in files)) == [], \
        "names in the README's layout that are not in the tree"


def test_api_and_kb_import_only_the_published_names_of_index():
    """index/__init__.py is the interface: api/ and kb/ import from `index` itself (kb's cluster
    commands, tools for the sphinx engine, reach into index.sphinx)."""
    found = subprocess.run(["git", "grep", "-n", "-E", r"^\s*(from|import) index\.", "--", "api", "kb"],
                           cwd=ROOT, capture_output=True, text=True).stdout.splitlines()
    assert [line for line in found if not line.startswith("kb/cli/cluster.py")] == []


def module_imports() -> dict[str, set[str]]:
    """Every module of kb/, index/ and api/ and the modules of those packages it imports (at the top
    or inside a function)."""
    import ast
    modules = {}
    for package in ("kb", "index", "api"):
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            name = ".".join(parts[:-1] if is_package else parts)
            modules[name] = (path, name if is_package else name.rpartition(".")[0])
    graph: dict[str, set[str]] = {}
    for name, (path, package) in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                # a name that is a module is that module; any other name is the package's own
                targets.update(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                               for alias in node.names)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def test_no_import_circles():
    graph = module_imports()
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(node):   # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert len(graph) > 60 and circles == []


def test_the_two_engines_never_import_each_other():
    graph = module_imports()
    for name, targets in graph.items():
        for engine, other in (("index.whoosh", "index.sphinx"), ("index.sphinx", "index.whoosh")):
            if name.startswith(engine):
                assert not [t for t in targets if t.startswith(other)], name


def test_no_module_over_400_lines():
    paths = [path for package in ("kb", "index", "api") for path in (ROOT / package).rglob("*.py")]
    sizes = {str(path.relative_to(ROOT)): len(path.read_text().splitlines()) for path in paths}
    assert {name: n for name, n in sizes.items() if n > 400} == {}
