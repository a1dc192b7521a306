"""Run ``motcua`` as an operator would: a child process, a clean MOTCUA_* environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def motcua(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
           timeout: float = 60, input: str | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MOTCUA_")}
    base["PYTHONPATH"] = str(ROOT)
    base.update(env or {})
    return subprocess.run([sys.executable, "-m", "motcua", *args], env=base, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, input=input)


def one_line_error(result: subprocess.CompletedProcess) -> str:
    """The refusal: exit code 2, no traceback, exactly one line on stderr; returns that line."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]
