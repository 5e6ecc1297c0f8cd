"""Benchmark: what `import engine.apply` costs a fresh process (every `plan` and `apply` pays it).

    python benchmarks/imports.py [--runs 3]

Each run is a new interpreter timing the import alone (wall and CPU seconds) (`python -X importtime -c "import
engine.apply"` shows where it goes). Ends with figure lines, min and median of the runs.

The runs compile engine's modules from source when the environment says so (PYTHONDONTWRITEBYTECODE, as on
the shared dev machine); an installed tokbridge has its bytecode compiled (pip does it at install). The
`_bytecode_cached` figures time the same import with the bytecode cached (in a temporary
PYTHONPYCACHEPREFIX, filled by one untimed run): what a merchant's process pays.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.figures import figure

PROBE = ("import time; t, c = time.perf_counter(), time.process_time(); import engine.apply; "
         "print(time.perf_counter() - t, time.process_time() - c)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    walls, cpus = _measure(root, args.runs, dict(os.environ))
    figure("import_engine_apply_min", min(walls), "s", at_most=0.15)
    figure("import_engine_apply_median", statistics.median(walls), "s", at_most=0.15)
    # CPU seconds: on a shared machine the wall time is mostly the wait for a core (and the disk).
    figure("import_engine_apply_cpu_min", min(cpus), "s", at_most=0.15)
    figure("import_engine_apply_cpu_median", statistics.median(cpus), "s", at_most=0.15)
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "PYTHONPYCACHEPREFIX": cache}
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        _measure(root, 1, env)  # compiles and caches the bytecode
        walls, cpus = _measure(root, args.runs, env)
    figure("import_engine_apply_bytecode_cached_cpu_min", min(cpus), "s")
    figure("import_engine_apply_bytecode_cached_cpu_median", statistics.median(cpus), "s")


def _measure(root: Path, runs: int, env: dict[str, str]) -> tuple[list[float], list[float]]:
    measured = [[float(v) for v in subprocess.run([sys.executable, "-c", PROBE], cwd=root, check=True, env=env,
                                                  capture_output=True, text=True).stdout.split()]
                for _ in range(runs)]
    return [m[0] for m in measured], [m[1] for m in measured]

if __name__ == "__main__":
    main()
