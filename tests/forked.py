"""Real processes without an interpreter start each: forked from one forkserver that imported the engine.

A kill -9 test starts a process twenty times over; a fresh interpreter spends about a second of CPU
importing the engine each time, and on a busy machine most random kill points would then land in
the imports instead of in the work. A process forked from the forkserver is as separate as one
started from scratch (its own pid, memory, sockets, exit status; SIGKILL ends it without any cleanup),
and starts with the CLI and the engine already imported. One forkserver per test process (xdist
worker), started on first use.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from multiprocessing import reduction
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(["cli", "engine.runtime", "engine.passes.catalog", "engine.apply",
                                 "engine.passes.orders", "engine.watch", "engine.fleet.worker",
                                 "tests.orders.crash_import"])


def start(target: Callable[..., Any], *args: Any, daemon: bool = True) -> BaseProcess:
    """Run `target(*args)` in a forked process (`target` must be importable by name). A daemonic one is ended
    with this process; a process that is always waited for need not be (and may then start processes)."""
    process = _CONTEXT.Process(target=target, args=args, daemon=daemon)
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
                        str(stdout), daemon=False)
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


# -- `tokbridge` on PATH, forked -------------------------------------------------------------------------------

# The `tokbridge` a shell runs: a bare interpreter (no site, no engine: about 20 ms of CPU) that hands its
# arguments, environment, working directory and standard streams to the test process, which forks the command
# from the forkserver onto those very streams, and exits with the command's status.
_CLIENT = """import json, os, socket, sys
with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as server:
    server.connect(sys.argv[1])
    request = {"argv": sys.argv[2:], "cwd": os.getcwd(), "env": dict(os.environ)}
    socket.send_fds(server, [json.dumps(request).encode()], [0, 1, 2])
    status = int(server.recv(16) or b"-9")
sys.exit(status if status >= 0 else 128 - status)
"""


class _Inherited:
    """An open file descriptor for a forked process: sent to the forkserver with the request that starts it."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __reduce__(self) -> tuple[Callable[[Any], int], tuple[Any]]:
        return _inherited, (reduction.DupFd(self.fd),)


def _inherited(duplicate: Any) -> int:
    return int(duplicate.detach())


def _tokbridge_on(argv: Sequence[str], env: Mapping[str, str], cwd: str, stdin: int, stdout: int,
                  stderr: int) -> None:
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):  # the inherited fds are all above 2
        os.dup2(fd, target)
        os.close(fd)
    # multiprocessing pointed sys.stdin at /dev/null; the command reads the shell's stdin, open for its lifetime
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    from cli import main

    main(list(argv), prog_name="tokbridge")


class TokbridgeOnPath:
    """A `tokbridge` executable in `bin_dir` that runs each command forked (see `_CLIENT`), for tests that run
    shell lines as written. Serves while the context is open."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        # A short path: a unix socket's is limited to 107 bytes, and pytest's tmp_path can be longer
        self._directory = tempfile.TemporaryDirectory(prefix="tokbridge-")
        self._socket_path = Path(self._directory.name) / "sock"
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> TokbridgeOnPath:
        client = self.bin_dir / "tokbridge_client.py"
        client.write_text(_CLIENT)
        executable = self.bin_dir / "tokbridge"
        executable.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} -I -S {shlex.quote(str(client))} "
                              f"{shlex.quote(str(self._socket_path))} \"$@\"\n")
        executable.chmod(0o755)
        self._listener.bind(str(self._socket_path))
        self._listener.listen()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(timeout=10)
        self._directory.cleanup()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._run, args=(connection,), daemon=True).start()

    @staticmethod
    def _run(connection: socket.socket) -> None:
        with connection:
            raw, fds, _, _ = socket.recv_fds(connection, 1 << 20, 3)
            try:
                request = json.loads(raw)
                process = start(_tokbridge_on, request["argv"], request["env"], request["cwd"],
                                *(_Inherited(fd) for fd in fds), daemon=False)
            finally:
                for fd in fds:
                    os.close(fd)  # the forked process has its own copies
            process.join()
            connection.sendall(str(process.exitcode).encode())
