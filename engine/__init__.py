"""tokbridge engine: Ecwid catalog + YAML policies -> desired TikTok Shop state -> plan -> apply."""

import sys
import types

# `import httpx` also imports httpx's own command-line client (`httpx._main`: rich, pygments, click)
# whenever those are installed, and rich is one of tokbridge's dependencies (the demo's output): about
# 50 ms of CPU in every `plan` and `apply` for a client tokbridge never runs. An empty module in its
# place makes httpx take its own fallback for a missing CLI (its `from ._main import main` raises
# ImportError, which httpx catches); only `httpx.main()`, never called here, is affected. When httpx
# was imported before the engine, nothing changes.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", types.ModuleType("httpx._main"))
