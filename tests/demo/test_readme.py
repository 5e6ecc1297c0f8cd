"""The README and docs promise commands and links: keep them true."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text(encoding="utf-8")


def test_the_readme_test_command_is_what_ci_runs() -> None:
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    [ci_pytest] = [line for line in ci.splitlines() if line.startswith("python -m pytest")]
    assert (f"python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && {ci_pytest}\n"
            in README)
    assert "python3 -m venv .venv && . .venv/bin/activate && pip install -e . && tokbridge demo\n" in README


def test_every_relative_link_in_the_readme_and_docs_resolves() -> None:
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    checked = 0
    for page in pages:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            if target.startswith(("http://", "https://")):
                continue
            resolved = (page.parent / target).resolve()
            assert resolved.exists(), f"{page.name} links to {target}, which does not exist"
            assert resolved.is_relative_to(REPO), f"{page.name} links outside the repository: {target}"
            checked += 1
    assert checked >= 6


def test_the_example_workflow_validates_and_posts_the_plan() -> None:
    workflow = yaml.safe_load((REPO / "docs" / "examples" / "tokbridge-plan.yml").read_text(encoding="utf-8"))
    steps = workflow["jobs"]["plan"]["steps"]
    commands = "\n".join(step.get("run", "") for step in steps)
    assert "tokbridge validate . --format github" in commands
    assert "tokbridge plan --config . --refresh --detailed-exitcode" in commands
    assert "gh pr comment" in commands
    assert set(workflow["jobs"]["plan"]["env"]) == {"ECWID_TOKEN", "ECWID_CLIENT_SECRET", "TIKTOK_APP_KEY",
                                                     "TIKTOK_APP_SECRET"}
    assert all(v.startswith("${{ secrets.") for v in workflow["jobs"]["plan"]["env"].values())
