"""Keep a share of the Kubernetes API calls failing, through the emulator's fault injection.

The emulator fails "the next N calls"; this tops that up as calls come in, so about
`share` of them fail, in turn with 500, 429 (Retry-After: 1), a hang past the client's
timeout (then 504), and a 500 after the call took effect (the answer lost on the way
back), whichever path they are for.
"""

import threading
from collections import Counter
from dataclasses import dataclass, field

from localdev.k8s_api_emulator import KubeApiEmulator

KINDS = ("500", "429", "hang", "answer lost")
CHECK_EVERY_SECONDS = 0.1


@dataclass
class FaultRate:
    """Injects faults into `kube` until stopped; `injected` counts them by kind."""

    kube: KubeApiEmulator
    share: float
    hang_seconds: float
    injected: Counter[str] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> "FaultRate":
        """Begin topping up in a background thread."""
        self._thread = threading.Thread(target=self._run, name="fault-rate", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop adding faults and clear those not yet taken: later calls all succeed."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.kube.clear_faults()

    def _run(self) -> None:
        while not self._stop.wait(CHECK_EVERY_SECONDS):
            due = int(len(self.kube.requests) * self.share) - self.injected.total()
            for _ in range(due):
                self._inject(KINDS[self.injected.total() % len(KINDS)])

    def _inject(self, kind: str) -> None:
        if kind == "hang":
            self.kube.inject_fault(hang_seconds=self.hang_seconds)
        elif kind == "answer lost":
            self.kube.inject_fault(status=500, after_performing=True)
        elif kind == "429":
            self.kube.inject_fault(status=429, retry_after=1)
        else:
            self.kube.inject_fault(status=500)
        self.injected[kind] += 1
