"""The package's layers are a contract (docs/design.md §9): ``[tool.importlinter]`` in pyproject.toml,
checked here with import-linter on the checkout's ``src`` (function-local imports included)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SRC = REPO_ROOT / "src"
LINT_IMPORTS = ["-c", "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"]


def lint_imports(src: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` with the repository's contract on the package under ``src``."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run([sys.executable, *LINT_IMPORTS, "--no-cache", "--config", str(REPO_ROOT / "pyproject.toml")],
                          cwd=src, env=env, capture_output=True, text=True, timeout=120)


def test_layers_contract_is_kept() -> None:
    result = lint_imports(SRC)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_contract_catches_a_function_local_upward_import(tmp_path: Path) -> None:
    """The check is not vacuous: a copy of the package with one hidden upward import fails it."""
    shutil.copytree(SRC / "avcorr", tmp_path / "avcorr", ignore=shutil.ignore_patterns("__pycache__"))
    with open(tmp_path / "avcorr" / "errors.py", "a", encoding="utf-8") as handle:
        handle.write("\n\ndef _upward():\n    from avcorr.cli.common import progress  # noqa: F401\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "avcorr.errors -> avcorr.cli.common" in result.stdout


def test_only_the_cli_imports_the_cli() -> None:
    pattern = re.compile(r"^\s*(from avcorr\.cli\b|import avcorr\.cli\b)", re.MULTILINE)
    package = SRC / "avcorr"
    offenders = sorted(str(path.relative_to(package)) for path in package.rglob("*.py")
                       if path.relative_to(package).parts[0] != "cli" and pattern.search(path.read_text(encoding="utf-8")))
    assert offenders == []
