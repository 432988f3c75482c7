"""Module and function sizes: fail when a module passes 400 lines or a function 80.

``export_assets/retrain.py`` ships alone in every export, so its module size is exempt (its
functions are not). Prints the five largest of each.
Usage: python scripts/code_sizes.py [--top N]
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src" / "labelaudit"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
ONE_FILE_MODULES = {"export_assets/retrain.py"}


def measure(root: Path = ROOT) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(lines, module) and (lines, module:function) for every module and function under root."""
    modules: list[tuple[int, str]] = []
    functions: list[tuple[int, str]] = []
    for path in sorted(root.rglob("*.py")):
        name = path.relative_to(root).as_posix()
        text = path.read_text(encoding="utf-8")
        modules.append((len(text.splitlines()), name))
        for node in ast.walk(ast.parse(text, filename=str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                functions.append((node.end_lineno - start + 1, f"{name}:{node.name}"))
    return sorted(modules, reverse=True), sorted(functions, reverse=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=5)
    top = parser.parse_args().top
    modules, functions = measure()
    print(f"largest modules (limit {MAX_MODULE_LINES}, {', '.join(ONE_FILE_MODULES)} exempt):")
    for lines, name in modules[:top]:
        print(f"  {lines:5d}  {name}")
    print(f"largest functions (limit {MAX_FUNCTION_LINES}):")
    for lines, name in functions[:top]:
        print(f"  {lines:5d}  {name}")
    too_big = [
        f"module {n}: {k} lines"
        for k, n in modules
        if k > MAX_MODULE_LINES and n not in ONE_FILE_MODULES
    ]
    too_big += [f"function {n}: {k} lines" for k, n in functions if k > MAX_FUNCTION_LINES]
    for line in too_big:
        print(f"too big: {line}", file=sys.stderr)
    return 1 if too_big else 0


if __name__ == "__main__":
    sys.exit(main())
