"""Packaging rules: the core and CLI work without Qt; light commands never import torch."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from helpers import make_tree

BLOCK = textwrap.dedent(
    """
    import sys, importlib, pkgutil
    class Block:
        def __init__(self, names): self.names = names
        def find_spec(self, name, path=None, target=None):
            if name.split('.')[0] in self.names:
                raise ImportError(f'{name} is blocked in this test')
    sys.meta_path.insert(0, Block(BLOCKED))
    """
)


def _run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)


def test_core_and_cli_import_without_pyside6() -> None:
    code = BLOCK.replace("BLOCKED", repr(["PySide6", "shiboken6"])) + textwrap.dedent(
        """
        import labelaudit
        for pkg in ('labelaudit.core', 'labelaudit.cli'):
            mod = importlib.import_module(pkg)
            for info in pkgutil.walk_packages(mod.__path__, pkg + '.'):
                importlib.import_module(info.name)
        from labelaudit.entry import main
        code = main(['gui', '/nonexistent'])
        assert code == 2, code
        print('ok')
        """
    )
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr
    assert "ok" in proc.stdout
    assert "needs PySide6" in proc.stderr


def test_light_commands_do_not_import_torch_or_cleanlab(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "images", {"a": 2, "b": 2})
    code = textwrap.dedent(
        f"""
        import sys
        from labelaudit.entry import main
        assert main(['init', {str(tmp_path / "p")!r}, '--images', {str(root)!r}]) == 0
        assert main(['info', {str(tmp_path / "p")!r}]) == 0
        assert main(['config', {str(tmp_path / "p")!r}]) == 0
        heavy = [m for m in ('torch', 'torchvision', 'cleanlab', 'PySide6') if m in sys.modules]
        print('heavy:', heavy)
        """
    )
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr
    assert "heavy: []" in proc.stdout
