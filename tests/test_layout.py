"""The package's rooms keep their rules: light import, no string dispatch on spaces, and
imports that only point the allowed way."""
import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "nar_utils"


def _modules(room: str = "") -> list[Path]:
    return sorted((PACKAGE / room).rglob("*.py"))


def _imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
    return names


def _fresh(code: str) -> str:
    """What ``code`` prints in a fresh interpreter (nothing imported before it)."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_importing_the_package_imports_neither_torch_nor_pandas():
    assert _fresh("import sys, nar_utils as nar; nar.benchmarks; nar.spaces.get_space('nb201');"
                  "print(sorted(m for m in ('torch', 'pandas') if m in sys.modules))") == "[]"


def test_the_nb201_query_path_needs_no_torch():
    assert _fresh("import sys, nar_utils as nar; b = nar.load_benchmark('embedded');"
                  "b.get_more_info(0, 'cifar10'); print('torch' in sys.modules)") == "False"


def test_no_string_dispatch_on_space_names_outside_spaces():
    pattern = re.compile(r"""(==|!=|\bin)\s*\(?\s*["'](nb201|nb101)["']""")
    offenders = [f"{p.relative_to(PACKAGE)}:{n}" for p in _modules()
                 if "spaces" not in p.relative_to(PACKAGE).parts
                 for n, line in enumerate(p.read_text().splitlines(), 1)
                 if pattern.search(line)]
    assert offenders == []


@pytest.mark.parametrize("room, forbidden", [("spaces", "nar_utils.benchmarks"),
                                             ("spaces", "nar_utils.search"),
                                             ("spaces", "nar_utils.predictors"),
                                             ("benchmarks", "nar_utils.search"),
                                             ("benchmarks", "nar_utils.predictors")])
def test_rooms_import_only_downwards(room, forbidden):
    offenders = [str(p.relative_to(PACKAGE)) for p in _modules(room)
                 if any(name.startswith(forbidden) for name in _imported(p))]
    assert offenders == []


def test_only_the_book_machinery_imports_reproduce():
    offenders = [str(p.relative_to(PACKAGE)) for p in _modules()
                 if "reproduce" not in p.relative_to(PACKAGE).parts
                 and any(name.startswith("nar_utils.reproduce") for name in _imported(p))]
    assert offenders == []
