"""Real processes without an interpreter start each: forked from one forkserver that imported the engine.

A kill -9 test starts a process twenty times over; a fresh interpreter spends about a second of CPU
importing the engine each time, and on a busy machine most random kill points would then land in
the imports instead of in the work. A process forked from the forkserver is as separate as one
started from scratch (its own pid, memory, sockets, exit status; SIGKILL ends it without any cleanup),
and starts with the CLI and the engine already imported. One forkserver per test process (xdist
worker), started on first use.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["cli", "engine.runtime", "engine.passes.catalog", "engine.apply",
                                 "engine.passes.orders", "engine.watch", "engine.fleet.worker",
                                 "tests.orders.crash_import"])


def start(target: Callable[..., Any], *args: Any) -> BaseProcess:
    """Run `target(*args)` in a forked process (`target` must be importable by name)."""
    process = _CONTEXT.Process(target=target, args=args, daemon=True)
    process.start()
    return process


def _tokbridge(argv: Sequence[str], env: Mapping[str, str], cwd: str, stderr: str | None,
               stdout: str | None = None) -> None:
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    os.dup2(_output(stdout), 1)
    os.dup2(_output(stderr), 2)
    from cli import main

    main(list(argv), prog_name="tokbridge")  # exits with the command's status


def _output(path: str | None) -> int:
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT) if path else os.open(os.devnull, os.O_WRONLY)


def start_tokbridge(argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, stderr: Path | None = None,
                    stdout: Path | None = None) -> BaseProcess:
    """`tokbridge ARGV` with that environment and working directory; its stderr appended to `stderr` and its
    stdout to `stdout` (the same file for both is fine), each discarded when not given."""
    return start(_tokbridge, list(argv), dict(env), str(cwd), str(stderr) if stderr else None,
                 str(stdout) if stdout else None)


def run_tokbridge(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str] | None = None,
                  timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`tokbridge ARGV` run to its end, as `subprocess.run(..., capture_output=True, text=True)` would: its exit
    status (-N when signal N ended it), stdout and stderr. `env` defaults to this process's environment.
    A forked process started from the same forkserver as the others: about a CPU-second less than a fresh
    interpreter, which spends it importing the engine; the command itself runs exactly as from a shell."""
    with tempfile.TemporaryDirectory(prefix="tokbridge-output-") as directory:
        stdout, stderr = Path(directory) / "stdout", Path(directory) / "stderr"
        process = start(_tokbridge, list(argv), dict(os.environ if env is None else env), str(cwd), str(stderr),
                        str(stdout))
        process.join(timeout)
        if process.exitcode is None:
            process.kill()
            process.join()
            raise subprocess.TimeoutExpired(list(argv), timeout, stdout.read_text(), stderr.read_text())
        return subprocess.CompletedProcess(list(argv), process.exitcode, stdout.read_text(), stderr.read_text())


class Forked:
    """A forked `tokbridge` process behind the part of `subprocess.Popen`'s interface the tests use."""

    def __init__(self, process: BaseProcess, argv: Sequence[str]) -> None:
        self.process = process
        self.args = list(argv)
        assert process.pid is not None
        self.pid: int = process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.exitcode  # as Popen's: -N when signal N ended it

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        self.process.join(timeout)
        code = self.returncode
        if code is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0.0)
        return code

    def send_signal(self, sig: int) -> None:
        if self.returncode is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def popen_tokbridge(argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, stderr: Path | None = None,
                    stdout: Path | None = None) -> Forked:
    """`start_tokbridge`, handled like a `subprocess.Popen`."""
    return Forked(start_tokbridge(argv, env=env, cwd=cwd, stderr=stderr, stdout=stdout), argv)
