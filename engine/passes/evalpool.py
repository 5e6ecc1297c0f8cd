"""Cold evaluations over worker processes: both cores for a plan that must evaluate a big catalog.

`engine.passes.mirror` evaluates only the products whose stored outcome no longer holds. When they
are many (a store's first plan, `plan --full`, a tokbridge upgrade, an edit of a config file every
product reads) and the process may use more than one core, it hands them here in chunks:

- **Processes from a fork server, kept for the process's life.** `tokbridge watch` runs threads (the
  webhook receiver, the control socket, the watchdog), and forking a threaded process copies locks
  other threads may hold. The fork server is started from the first big cold run, single-threaded,
  with the engine imported once (`set_forkserver_preload`); workers fork from it, never from us, and
  stay until the process ends (a daemon pays their start once). SIGINT is ignored in the workers:
  Ctrl-C reaches this process, which stops them (`EvaluationPool.stop`). A process killed outright
  (SIGTERM, SIGKILL) cannot stop them: each worker watches it and ends within a second, and the fork
  server ends with its last worker.
- **Compact inputs and results.** A worker gets each product as the state's raw Ecwid JSON (a str)
  and converts it itself, and answers with what the state stores (the row's strings and the listing
  JSON). Pickling the converted products and the DesiredListings instead was measured slower than
  evaluating them (20,000 products: 3.6 s to pickle the products, 3.6 s + 1.2 s to pickle and load the
  outcomes, against 2.9 s to evaluate them); strings pickle at memory speed. So the listings of pooled
  chunks are not decoded here: the diff decodes from the state the few it acts on, as it does for
  stored outcomes.
- **The run's context once.** The config (its expressions recompiled from their source on the other
  side), the store details, the category attributes and rules are pickled once per run (a few KB)
  and go with each chunk; a worker unpickles them once per digest.
- **No outcome lost or doubled.** Chunks are taken back in order; a chunk whose worker died or raised
  is evaluated here instead (said once per run in the log), and a broken pool is discarded (the next
  big run starts a new one). A product is saved from exactly one of the two.
- **Only where it pays** (`pool_workers`): at least `POOL_MIN` products to evaluate and two cores this
  process may run on. `TOKBRIDGE_EVALUATION_WORKERS` (`auto`, `0`/`1` = off, or a number) and
  `TOKBRIDGE_EVALUATION_POOL_MIN` change that (docs/config.md).
"""

from __future__ import annotations

import atexit
import copyreg
import gc
import hashlib
import logging
import multiprocessing
import os
import pickle
import resource
import signal
import threading
import time
import types
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

from engine.ecwid.converters import read_product
from engine.expr import Expression, SourcePos, Template
from engine.model import jsontext
from engine.model.catalog import Category
from engine.model.errors import TokbridgeError
from engine.passes.outcomes import Outcome, OutcomeContext, stored_outcome
from engine.runtime import Runtime
from engine.state import StoredEvaluation

log = logging.getLogger(__name__)

ENV_WORKERS = "TOKBRIDGE_EVALUATION_WORKERS"
ENV_POOL_MIN = "TOKBRIDGE_EVALUATION_POOL_MIN"
# Below this many products to evaluate the pool does not pay. Measured on the 2-core dev machine under a
# load of 5-9: starting the fork server and two workers took 1.4-2.2 s of wall time before the first
# answer (the engine imported once more; 10 ms of this process's CPU), and a product costs 0.7-1.0 ms
# of CPU on the mirror path (convert, evaluate, the stored row and JSON). Halving n products' time wins
# from about 2 x 1.5 s / 0.75 ms = 4,000 products; on a quiet machine from fewer.
POOL_MIN = 4_000
CHUNK = 1_000  # products per task: small enough to keep both workers busy to the end, big enough to amortise
CLIENT_CHECK = 0.5  # seconds between a worker's checks that the process it works for is still there
IN_FLIGHT = 2  # tasks queued per worker: one running, one ready; bounds the memory of results waiting here


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which a container or `taskset` narrows)."""
    try:
        return min(len(os.sched_getaffinity(0)), os.cpu_count() or 1)
    except AttributeError:  # no sched_getaffinity outside Linux
        return os.cpu_count() or 1


def pool_workers(to_evaluate: int, env: Mapping[str, str] | None = None) -> int:
    """How many worker processes evaluate `to_evaluate` products: 0 when the pool does not pay (too few
    products, one core, or turned off)."""
    env = os.environ if env is None else env
    cores = usable_cores()
    setting = env.get(ENV_WORKERS, "auto").strip().lower() or "auto"
    wanted = cores if setting == "auto" else _number(ENV_WORKERS, setting)
    least = _number(ENV_POOL_MIN, env.get(ENV_POOL_MIN, "").strip() or str(POOL_MIN))
    workers = min(wanted, cores)
    if "forkserver" not in multiprocessing.get_all_start_methods():  # Windows: no fork server, no pool
        return 0
    return workers if workers >= 2 and to_evaluate >= max(least, 1) else 0


def _number(name: str, text: str) -> int:
    if not text.isdigit():
        raise TokbridgeError(f"{name} is {text!r}; set it to a whole number of 0 or more (or 'auto' for"
                             f" {ENV_WORKERS})")
    return int(text)


@dataclass
class PoolFigures:
    """What the last pooled run moved and cost (benchmarks/evaluate.py prints it)."""

    workers: int = 0
    chunk: int = CHUNK
    chunks: int = 0
    sent_bytes: int = 0  # tasks as pickled here: the context and each chunk's Ecwid JSON
    received_bytes: int = 0  # results as pickled by the workers
    transfer_seconds: float = 0.0  # this process's pickling of tasks and loading of results
    fallbacks: int = 0  # chunks evaluated here because their worker failed
    worker_cpu_seconds: float = 0.0  # the workers' CPU time on the chunks, summed
    worker_peak_rss_mb: dict[int, float] = field(default_factory=dict)  # by worker pid


LAST = PoolFigures()  # the last pooled run's figures (replaced by each run)


class EvaluationPool:
    """The worker processes of this process, started on first use and kept until `stop` or exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._workers = 0

    def executor(self, workers: int) -> ProcessPoolExecutor:
        with self._lock:
            if self._executor is None or self._workers != workers:
                self._stop_locked()
                context = multiprocessing.get_context("forkserver")
                # the engine imported once, in the fork server, and Jinja (workers compile the expressions)
                context.set_forkserver_preload([__name__, "engine.expr.compiling"])
                self._executor = ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_started,
                                                     initargs=(os.getpid(),))
                self._workers = workers
            return self._executor

    def worker_pids(self) -> list[int]:
        """The live workers' process ids (tests kill one)."""
        processes: Mapping[int, Any] = getattr(self._executor, "_processes", None) or {}
        return sorted(processes)

    def stop(self) -> None:
        """Terminate the workers now (an interrupted run, a broken pool, the process ending)."""
        with self._lock:
            self._stop_locked()

    def _stop_locked(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        # ProcessPoolExecutor (Python 3.11) has no terminate: its processes are reached by their table
        processes: Mapping[int, Any] = getattr(executor, "_processes", None) or {}
        for process in list(processes.values()):
            if process.is_alive():
                process.terminate()
        executor.shutdown(wait=True, cancel_futures=True)


POOL = EvaluationPool()
atexit.register(POOL.stop)


def evaluated_chunks(runtime: Runtime, ids: list[int], index: Mapping[int, tuple[str, bool]], context: OutcomeContext,
                     workers: int, serial: Callable[[list[int]], dict[int, Outcome]]) -> Iterator[dict[int, Outcome]]:
    """The outcomes of `ids`, chunk by chunk in their order, evaluated by `workers` worker processes;
    `index` gives each product's content hash (the state's mirror index); `serial` evaluates a chunk here
    (a failed worker's)."""
    global LAST
    LAST = figures = PoolFigures(workers=workers, chunk=CHUNK)
    log.info("evaluating %d products over %d worker processes", len(ids), workers)
    started = time.perf_counter()
    blob = pickle.dumps((context, runtime.mirror.categories), protocol=pickle.HIGHEST_PROTOCOL)
    tag = hashlib.sha256(blob).hexdigest()
    figures.transfer_seconds += time.perf_counter() - started
    pending: deque[tuple[list[int], Future[bytes] | None]] = deque()
    finished = False
    try:
        for chunk in _chunks(ids, CHUNK):
            pending.append((chunk, _submit(runtime, workers, tag, blob, chunk, index, figures)))
            while len(pending) >= workers * IN_FLIGHT:
                yield _collect(*pending.popleft(), serial, figures)
        while pending:
            yield _collect(*pending.popleft(), serial, figures)
        finished = True
    finally:
        if not finished:  # interrupted (Ctrl-C, SIGTERM turned into an exception) or abandoned
            for _, future in pending:
                if future is not None:
                    future.cancel()
            POOL.stop()


def _submit(runtime: Runtime, workers: int, tag: str, blob: bytes, chunk: list[int],
            index: Mapping[int, tuple[str, bool]], figures: PoolFigures) -> Future[bytes] | None:
    """Send a chunk to the workers (None when the pool cannot take it: the chunk is evaluated here)."""
    bodies = runtime.state.mirror_bodies(chunk)
    if len(bodies) != len(chunk):  # not mirrored after all: the serial path says what is missing
        return None
    started = time.perf_counter()
    payload = pickle.dumps([(pid, bodies[pid], index[pid][0]) for pid in chunk], protocol=pickle.HIGHEST_PROTOCOL)
    figures.transfer_seconds += time.perf_counter() - started
    figures.sent_bytes += len(payload) + len(blob)
    figures.chunks += 1
    try:
        return POOL.executor(workers).submit(_work, tag, blob, payload)
    except (BrokenProcessPool, RuntimeError):  # a worker died since the last chunk: this one is ours
        POOL.stop()
        return None


def _collect(chunk: list[int], future: Future[bytes] | None, serial: Callable[[list[int]], dict[int, Outcome]],
             figures: PoolFigures) -> dict[int, Outcome]:
    """A chunk's outcomes from its worker, or evaluated here when the worker failed."""
    try:
        if future is None:
            raise BrokenProcessPool("the evaluation workers stopped")
        data = future.result()
        started = time.perf_counter()
        worker, peak, cpu, rows = pickle.loads(data)
        figures.transfer_seconds += time.perf_counter() - started
        if [pid for pid, _, _ in rows] != chunk:  # never expected; a partial answer must not lose a product
            raise ValueError("an evaluation worker answered for other products than it was given")
    except Exception as exc:  # a worker that died (BrokenProcessPool) or raised: its chunk is evaluated here
        if figures.fallbacks == 0:
            log.warning("an evaluation worker failed (%s: %s); its products and any left are evaluated in this "
                        "process", type(exc).__name__, exc)
        figures.fallbacks += 1
        if isinstance(exc, BrokenProcessPool):
            POOL.stop()
        return serial(chunk)
    figures.received_bytes += len(data)
    figures.worker_cpu_seconds += cpu
    figures.worker_peak_rss_mb[worker] = max(peak, figures.worker_peak_rss_mb.get(worker, 0.0))
    return {pid: (StoredEvaluation(*row), text, None) for pid, row, text in rows}


def _chunks(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def submit_rows(workers: int, context: OutcomeContext, categories: Mapping[int, Category],
                rows: list[tuple[int, str, str]]) -> Future[bytes] | None:
    """Hand (pid, raw Ecwid JSON, content hash) rows to the workers without waiting for them (a full read
    evaluating as it goes, `engine.passes.mirror.ReadEvaluation`); None when the pool cannot take them."""
    blob = pickle.dumps((context, categories), protocol=pickle.HIGHEST_PROTOCOL)
    payload = pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL)
    try:
        return POOL.executor(workers).submit(_work, hashlib.sha256(blob).hexdigest(), blob, payload)
    except (BrokenProcessPool, RuntimeError):
        POOL.stop()
        return None


def rows_answered(future: Future[bytes] | None, pids: list[int]) -> list[tuple[int, StoredEvaluation, str]] | None:
    """What a worker answered for `submit_rows`, waiting for it if need be: (pid, stored row, listing JSON), or
    None when it failed (logged; its products are then left to the caller)."""
    try:
        if future is None:
            raise BrokenProcessPool("the evaluation workers stopped")
        _, _, _, rows = pickle.loads(future.result())
        if [pid for pid, _, _ in rows] != pids:
            raise ValueError("an evaluation worker answered for other products than it was given")
    except Exception as exc:
        log.warning("an evaluation worker failed (%s: %s); its products are evaluated in this process",
                    type(exc).__name__, exc)
        if isinstance(exc, BrokenProcessPool):
            POOL.stop()
        return None
    return [(pid, StoredEvaluation(*row), text) for pid, row, text in rows]


# ---- in the worker processes ----

# the run contexts this worker has read, by digest: a few, as a fleet worker evaluates several stores in turn
_contexts: dict[str, tuple[OutcomeContext, Mapping[int, Category]]] = {}
CONTEXTS_KEPT = 4


def _worker_started(client: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it stops us
    threading.Thread(target=_exit_with_client, args=(client,), name="client-watch", daemon=True).start()


def _exit_with_client(client: int) -> None:
    """End this worker when the process it works for has ended.

    A worker holds both ends of its task queue's pipe and the fork server's keep-alive pipe (multiprocessing
    hands it to every process the server starts), so when its client is killed outright (SIGTERM, SIGKILL)
    nothing wakes it and the fork server waits for it: it watches the client instead, and ends within
    `CLIENT_CHECK` seconds (then the fork server, its keep-alive pipe closed by all, ends too).
    """
    while _running(client):
        time.sleep(CLIENT_CHECK)
    os._exit(0)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rpartition(") ")[2][:1] not in ("Z", "X")  # a zombie has ended
    except FileNotFoundError:
        return False
    except OSError:  # no /proc: whether the pid exists
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True


def _work(tag: str, blob: bytes, payload: bytes) -> bytes:
    """Evaluate one chunk: (pid, raw Ecwid JSON, content hash) rows in, (pid, stored row, listing JSON) out."""
    if tag not in _contexts:
        if len(_contexts) >= CONTEXTS_KEPT:
            _contexts.clear()
        _contexts[tag] = pickle.loads(blob)
    context, categories = _contexts[tag]
    cpu = time.process_time()
    collecting = gc.isenabled()
    gc.disable()  # as `engine.rules.evaluate`: millions of small acyclic values, no cycle to find
    try:
        rows = []
        for pid, body, content in pickle.loads(payload):
            # `content` is the mirror's content hash of `body`: not computed again
            row, text, _ = stored_outcome(context, read_product(jsontext.loads(body), categories, known_hash=content),
                                          content)
            rows.append((pid, tuple(row), text))
    finally:
        if collecting:
            gc.enable()
    peak = _peak_rss_mb()
    return pickle.dumps((os.getpid(), peak, time.process_time() - cpu, rows), protocol=pickle.HIGHEST_PROTOCOL)


def _peak_rss_mb() -> float:
    """This worker's peak RSS: VmHWM of its own memory (pages shared with the fork server included)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


# ---- pickling what the context holds ----
# Compiled expressions hold Jinja's generated code, which does not pickle: they travel as their source and
# are compiled again on the other side (a few ms each, once per config digest). Mapping proxies (read-only
# dicts in the model) travel as dicts.


def _expression(source: str, pos: SourcePos | None) -> Expression:
    from engine.expr import compile_expression  # Jinja: a plan that starts no worker never imports it

    return compile_expression(source, pos=pos)


def _template(source: str, pos: SourcePos | None) -> Template:
    from engine.expr import compile_template

    return compile_template(source, pos=pos)


def _proxy(items: dict[Any, Any]) -> types.MappingProxyType[Any, Any]:
    return types.MappingProxyType(items)


copyreg.pickle(Expression, lambda value: (_expression, (value.source, value.pos)))
copyreg.pickle(Template, lambda value: (_template, (value.source, value.pos)))
copyreg.pickle(types.MappingProxyType, lambda value: (_proxy, (dict(value),)))
