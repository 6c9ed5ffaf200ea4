"""Packaging facts the project relies on."""
from __future__ import annotations

import ast
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_exactly_one_distribution_provides_whoosh():
    providers = [d.metadata["Name"] for d in metadata.distributions()
                 if "whoosh" in (d.read_text("top_level.txt") or "").split()
                 or any(str(f).startswith("whoosh/") for f in (d.files or []))]
    assert providers == ["Whoosh-Reloaded"], providers


def _imports(package: str):
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                yield path, node.module.split(".")[0], node.col_offset
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, alias.name.split(".")[0], node.col_offset


def test_imports_flow_api_to_kb_to_index():
    for path, module, _ in _imports("index"):
        assert module not in ("kb", "api"), f"{path} imports {module}"
    for path, module, col in _imports("kb"):
        if module == "api":
            assert col > 0, f"{path} imports api at module level"


def test_sample_and_taxonomy_ship_inside_the_package():
    assert (ROOT / "kb" / "data" / "science-diplomacy.txt").read_text().startswith("Build science diplomacy")
    assert (ROOT / "kb" / "data" / "science-diplomacy.yaml").exists()


def test_the_api_pages_assets_ship_in_the_wheel():
    """Every non-Python file the API serves (templates, stylesheet, OpenAPI examples) is package data."""
    import configparser
    import fnmatch
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    patterns = [p.strip() for p in config["options.package_data"]["api"].split(",")]
    assets = [p.relative_to(ROOT / "api").as_posix() for p in (ROOT / "api").rglob("*")
              if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts]
    assert {"templates/search.html", "static/kb.css", "examples.json"} <= set(assets)
    for asset in assets:
        assert any(fnmatch.fnmatch(asset, pattern) for pattern in patterns), asset
