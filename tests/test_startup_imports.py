"""What a fresh process imports (issue 18: every `plan` and `apply` pays its imports before any work).

Each check is a new interpreter, so what an earlier test imported cannot hide a module.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _loaded_after(code: str, modules: list[str]) -> list[str]:
    probe = f"import json, sys\n{code}\nprint(json.dumps([m for m in {modules!r} if m in sys.modules]))"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True,
                          timeout=120)
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_the_executor_imports_neither_the_diff_nor_the_config() -> None:
    not_needed = ["engine.reconcile.differ", "engine.reconcile.codec", "engine.reconcile.guardrails",
                  "engine.config.types", "engine.model.ecwid_order", "jsonschema", "jinja2", "yaml", "httpx"]
    assert _loaded_after("import engine.apply", not_needed) == []
    # and each name of the lazy package still comes with its module
    assert _loaded_after("from engine.reconcile import diff, plan_to_json", not_needed[:2]) == not_needed[:2]


def test_httpx_comes_without_its_command_line_client() -> None:
    code = "import engine.runtime, engine.ecwid.client, httpx\nassert callable(httpx.main) and httpx.Client"
    assert _loaded_after(code, ["rich", "pygments", "click"]) == []
    # imported before the engine, httpx is left as it is
    assert _loaded_after("import httpx, engine.runtime", ["rich"]) == ["rich"]
