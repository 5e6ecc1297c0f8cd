"""Benchmark: what `import engine.apply` costs a fresh process (every `plan` and `apply` pays it).

    python benchmarks/imports.py [--runs 3]

Each run is a new interpreter timing the import alone (`python -X importtime -c "import
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

PROBE = "import time; t = time.perf_counter(); import engine.apply; print(time.perf_counter() - t)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    root = Path(__file__).resolve().parents[1]
    values = [float(subprocess.run([sys.executable, "-c", PROBE], cwd=root, check=True, capture_output=True,
                                   text=True).stdout) for _ in range(args.runs)]
    figure("import_engine_apply_min", min(values), "s", at_most=0.15)
    figure("import_engine_apply_median", statistics.median(values), "s", at_most=0.15)


if __name__ == "__main__":
    main()
