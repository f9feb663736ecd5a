"""Child processes of the local stack: started in their own session, stopped for sure."""

import os
import signal
import socket
import subprocess
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import requests

from localdev.local_stack.wait import wait_until


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_answers(url: str) -> bool:
    """Whether anything answers HTTP at `url` (any status)."""
    try:
        requests.get(url, timeout=1)
    except requests.RequestException:
        return False
    return True


class Service:
    """A child process with its output in a log file, stopped with its whole group."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.name = name
        self.command = list(command)
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.log_path = Path(tempfile.mkstemp(prefix=f"{name}-", suffix=".log")[1])
        self.process: subprocess.Popen[bytes] | None = None

    def start(
        self, ready: Callable[[], bool], timeout: float = 60, interval: float = 0.05
    ) -> "Service":
        """Start the process and wait until `ready()`, tried every `interval` seconds; fail
        with its log if it dies first.

        May be called again after `kill`: the log goes on in the same file.
        """
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=self.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

        def up() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            return ready()

        try:
            wait_until(up, timeout, f"{self.name} to be ready", interval=interval)
        except Exception:
            self.stop()
            raise
        return self

    def log_text(self) -> str:
        """Everything the process printed so far."""
        return self.log_path.read_text(errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        """The last lines the process printed."""
        return "\n".join(self.log_text().splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL to the whole group at once, as a crash or an out-of-memory kill would."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """SIGTERM to the process group, then SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(timeout=grace)
                return
            except subprocess.TimeoutExpired:
                continue
