"""`.ci/run` says how long the test suite took, against its budget (tests/demo/test_readme.py checks
that it runs the README's test command)."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_ci_prints_the_suite_time_even_when_the_suite_fails(tmp_path: Path) -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    timing = next(line for line in ci.splitlines() if line.startswith("trap ") and "test suite" in line)
    # The timing lines with the suite replaced by a failing command, run by bash as .ci/run is (the same
    # trap stops the run's PostgreSQL: here a stand-in that does nothing).
    script = f"set -euo pipefail\nstop_pg() {{ :; }}\nstart=$SECONDS\n{timing}\nfalse\n"
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 1
    assert done.stdout == "test suite: 0 s (target 300 s)\n"
