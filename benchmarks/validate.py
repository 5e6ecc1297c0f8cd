"""Wall time of `tokbridge validate` on the starter config and on a generated 1,000-policy config.

Run: python benchmarks/validate.py [--policies N]. Targets (issue 2): starter < 0.5 s, 1,000 policies < 3 s.
Each figure is the best of 3 runs of the real command in a fresh process (interpreter start included).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.figures import figure
from engine.config import starter_files

ENV = {"ECWID_TOKEN": "t", "ECWID_CLIENT_SECRET": "c", "TIKTOK_APP_KEY": "k", "TIKTOK_APP_SECRET": "s"}


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def big_selling(policies: int) -> str:
    """Distinct policies: each has its own `when`, modifiers, rounding, bounds and quantity rules."""
    rounding = ["none", ".99", ".95", ".x9", "whole", "nearest10"]
    out = ["version: 1", "selling:"]
    for i in range(policies - 1):
        out += [
            f"  - name: policy-{i}",
            f"    when: \"'Category {i}' in product.categories and product.price > {i % 50}\"",
            "    price:",
            "      source: price" if i % 3 else '      source: "variant.cost_price * 2 if variant.cost_price else 1"',
            f'      modifiers: [{{percent: {i % 30}}}, {{add: "0.{i % 100:02d}"}}]',
            f'      round: "{rounding[i % len(rounding)]}"',
            f'      min: "variant.cost_price * 1.{i % 9 + 1} if variant.cost_price else 0"',
            "    quantity:",
            f"      percent: {50 + i % 50}",
            f"      reserve: {i % 5}",
            f"      max: {100 + i}",
        ]
    out += ["  - name: default", "    price: {round: none}"]
    return "\n".join(out) + "\n"


def timed(root: Path) -> float:
    env = {**os.environ, **ENV}
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        result = subprocess.run(
            ["tokbridge", "validate", str(root)], env=env, capture_output=True, text=True, check=False
        )
        best = min(best, time.perf_counter() - start)
        if result.returncode != 0:
            sys.exit(f"validate failed:\n{result.stdout}{result.stderr}")
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--policies", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        starter, big = Path(tmp, "starter"), Path(tmp, "big")
        write(starter, starter_files())
        write(big, {**starter_files(), "rules/selling.yaml": big_selling(args.policies)})
        size = (big / "rules" / "selling.yaml").stat().st_size
        print(f"{args.policies} policies: {size // 1024} KiB of rules/selling.yaml")
        figure("validate_starter_config", timed(starter), "s", at_most=0.5)
        figure(f"validate_{args.policies}_policies", timed(big), "s", at_most=3)


if __name__ == "__main__":
    main()
