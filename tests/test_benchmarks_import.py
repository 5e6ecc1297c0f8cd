"""Every benchmark imports as its own first import: they run standalone (`python benchmarks/x.py`), so an
import cycle that the test suite's import order hides (the suite imports the sandboxes first) stops them
before they print a figure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# One interpreter for all of them (a fresh one each would cost a second apiece): before each import,
# the sandboxes and benchmarks modules are forgotten, so each benchmark meets their import order as it does alone
# (the rest of the engine is imported in every order by the suite and the CLI).
_SCRIPT = """
import importlib, sys
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m.startswith(("engine.sandbox", "benchmarks"))]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {type(exc).__name__}: {exc}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_each_benchmark_imports_as_the_first_module_of_its_process() -> None:
    names = sorted(f"benchmarks.{path.stem}" for path in (ROOT / "benchmarks").glob("*.py") if path.stem != "__init__")
    assert len(names) >= 10
    command = [sys.executable, "-c", _SCRIPT, *names]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
