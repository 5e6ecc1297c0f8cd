"""Watch the merchant config (`tokbridge.yaml`, `rules/`, `mappings/`) with watchdog.

Only reports that something relevant changed (`on_change()`); the daemon reloads through the one
loader. Editors save in bursts (write a temp file, rename, touch), so changes within `settle`
seconds collapse into one call. `.tokbridge/` (the state database, written constantly) and
anything else under the root is ignored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

WATCHED_DIRS = ("rules", "mappings")
WATCHED_FILES = ("tokbridge.yaml",)


def is_config_path(root: Path, path: str) -> bool:
    try:
        relative = Path(path).resolve().relative_to(root.resolve())
    except ValueError:
        return False
    parts = relative.parts
    if not parts:
        return False
    if len(parts) == 1:
        return parts[0] in WATCHED_FILES
    return parts[0] in WATCHED_DIRS and parts[-1].endswith((".yaml", ".yml"))


class _Handler(FileSystemEventHandler):
    def __init__(self, root: Path, changed: Callable[[], None]) -> None:
        self._root = root
        self._changed = changed

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        paths = [event.src_path, getattr(event, "dest_path", "")]
        if any(p and is_config_path(self._root, str(p)) for p in paths):
            self._changed()


class ConfigWatcher:
    """Calls `on_change()` once per burst of config edits, `settle` seconds after the last one."""

    def __init__(self, root: str | Path, on_change: Callable[[], None], *, settle: float = 0.2) -> None:
        self._root = Path(root)
        self._on_change = on_change
        self._settle = settle
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._observer = Observer()
        handler = _Handler(self._root, self._poke)
        self._observer.schedule(handler, str(self._root), recursive=True)

    def _poke(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self._settle, self._on_change)
            self._timer.daemon = True
            self._timer.start()

    def start(self) -> ConfigWatcher:
        self._observer.start()
        return self

    def stop(self) -> None:
        self._observer.stop()
        self._observer.join(timeout=5)
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
