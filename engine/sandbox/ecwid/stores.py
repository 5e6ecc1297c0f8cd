"""Many Ecwid stores behind one address, so a fleet of stores can be tested on one machine.

Ecwid's REST API names the store in every path (`/api/v3/{storeId}/...`, ecwid.md §1), and so do
the sandbox's images (`/images/{storeId}/...`): `EcwidStores` serves each store's own
`EcwidSandbox` (its catalog, orders, tokens, rate limit, faults and webhooks) for the paths that
name it, and answers Ecwid's 404 `STORE_NOT_FOUND` for a store it does not hold. A store's merchant
pages (`/_admin/...`, e.g. its order list) are under `/_stores/{storeId}`, for a process that holds
no sandbox object; tests in the same process drive the merchant's side through each sandbox's
`admin_*` methods.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from engine.sandbox.ecwid.app import EcwidSandbox
from engine.sandbox.ecwid.core import error_body
from engine.sandbox.server import ServerThread

Send = Callable[[dict[str, Any]], Any]
STORE_PREFIX = "/_stores/"


class EcwidStores:
    """An ASGI app routing each request to the store its path names."""

    def __init__(self) -> None:
        self.stores: dict[int, EcwidSandbox] = {}
        self.lock = threading.Lock()
        self.url = ""  # set by `serve_ecwid_stores` once bound

    def add(self, sandbox: EcwidSandbox) -> EcwidSandbox:
        with self.lock:
            if sandbox.store_id in self.stores:
                raise ValueError(f"store {sandbox.store_id} is served already")
            self.stores[sandbox.store_id] = sandbox
        return sandbox

    @property
    def base_url(self) -> str:
        """What each store's `settings.ecwid.base_url` is: the client appends `/{store_id}`."""
        return f"{self.url}/api/v3"

    def _store_of(self, path: str) -> EcwidSandbox | None:
        parts = path.strip("/").split("/")
        if len(parts) >= 3 and parts[:2] == ["api", "v3"] and parts[2].isdigit():
            store_id = int(parts[2])
        elif len(parts) >= 2 and parts[0] == "images" and parts[1].isdigit():
            store_id = int(parts[1])
        else:
            return None
        with self.lock:
            return self.stores.get(store_id)

    async def __call__(self, scope: dict[str, Any], receive: Callable[[], Any], send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"].startswith(STORE_PREFIX):  # one store's merchant pages: /_stores/{id}/_admin/...
            store_id, _, rest = scope["path"][len(STORE_PREFIX):].partition("/")
            with self.lock:
                sandbox = self.stores.get(int(store_id)) if store_id.isdigit() else None
            scope = {**scope, "path": "/" + rest, "raw_path": ("/" + rest).encode()}
        else:
            sandbox = self._store_of(scope["path"])
        if sandbox is not None:
            await sandbox.app(scope, receive, send)
            return
        body = error_body(404, "Store not found", "STORE_NOT_FOUND")
        await send({"type": "http.response.start", "status": 404,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


@contextmanager
def serve_ecwid_stores(count: int, *, n_products: int = 0, first_store_id: int = 2_000_001, seed: int = 0,
                       **options: Any) -> Iterator[EcwidStores]:
    """`count` stores (ids from `first_store_id`), each seeded with its own `n_products`, on one port."""
    stores = EcwidStores()
    server = ServerThread(stores, date_header=False)  # each store's sandbox dates its answers
    stores.url = server.url
    for index in range(count):
        sandbox = stores.add(EcwidSandbox(store_id=first_store_id + index, **options))
        if n_products:
            sandbox.seed(n_products, seed=seed + index, image_base_url=f"{server.url}/images/{sandbox.store_id}")
    server.start()
    try:
        yield stores
    finally:
        server.stop()
        for sandbox in stores.stores.values():
            sandbox.webhooks.stop()
