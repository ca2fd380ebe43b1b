"""The layers of DESIGN.md hold: the import-linter contracts in pyproject.toml pass, and kiosk/ has no import cycle.

`python -m tests.test_layers` prints the cycles (strongly connected groups of modules), if any.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import networkx as nx

ROOT = Path(__file__).resolve().parent.parent


def import_cycles() -> list[set[str]]:
    """Groups of modules of kiosk/ and matcher/ that import each other in a circle (directly or through others)."""
    graph = grimp.build_graph("kiosk", "matcher")
    edges = nx.DiGraph()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            edges.add_edge(module, imported)
    return [group for group in nx.strongly_connected_components(edges) if len(group) > 1]


def test_no_import_cycle():
    assert import_cycles() == []


def test_import_linter_contracts_are_kept():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"
    result = subprocess.run([lint, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


if __name__ == "__main__":
    cycles = import_cycles()
    print(f"{len(cycles)} import cycle(s) in kiosk/ and matcher/")
    for group in cycles:
        print(f"  {len(group)} modules: {', '.join(sorted(group))}")
