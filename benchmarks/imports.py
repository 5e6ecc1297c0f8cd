"""Benchmark: what `import engine.apply` costs a fresh process (every `plan` and `apply` pays it).

    python benchmarks/imports.py [--runs 3]

Each run is a new interpreter timing the import alone (wall and CPU seconds) (`python -X importtime -c "import
engine.apply"` shows where it goes). Ends with figure lines, min and median of the runs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
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
    measured = [[float(v) for v in subprocess.run([sys.executable, "-c", PROBE], cwd=root, check=True,
                                                  capture_output=True, text=True).stdout.split()]
                for _ in range(args.runs)]
    walls, cpus = [m[0] for m in measured], [m[1] for m in measured]
    figure("import_engine_apply_min", min(walls), "s", at_most=0.15)
    figure("import_engine_apply_median", statistics.median(walls), "s", at_most=0.15)
    # CPU seconds: on a shared machine the wall time is mostly the wait for a core (and the disk).
    figure("import_engine_apply_cpu_min", min(cpus), "s", at_most=0.15)
    figure("import_engine_apply_cpu_median", statistics.median(cpus), "s", at_most=0.15)


if __name__ == "__main__":
    main()
