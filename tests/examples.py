"""How many examples an expensive hypothesis property runs: all of them locally, a bounded share in CI.

CI (`CI` set, as `.ci/run` does) runs the whole suite in 300 s on two cores; a few properties are
most of its CPU. Each keeps, in CI, enough examples to find what it exists for (its `@example`
regressions run in every profile); `TOKBRIDGE_FULL_PROPERTIES=1` runs the full counts in CI too.
With `CI` set, Hypothesis loads its own "ci" profile: derandomized (the same examples every run, so
CI never passes or fails by luck), no example database, and the reproducing blob of a failure printed.
"""

from __future__ import annotations

import os

IN_CI = bool(os.environ.get("CI")) and not os.environ.get("TOKBRIDGE_FULL_PROPERTIES")


def examples(full: int, *, ci: int) -> int:
    """`full` examples locally; `ci` in CI."""
    return ci if IN_CI else full
