"""`.ci/run` runs exactly the README's test command, and says how long the suite took."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command_and_prints_its_time() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    [command] = re.findall(r"&& (python -m pytest [^\n]*)\n", readme)
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert f"\n{command} || status=$?\n" in ci
    assert 'echo "test suite: $((SECONDS - start)) s (target 300 s)"' in ci
