"""The cyclic garbage collector, paused while a function instance loads its libraries.

Loading pydantic and the Pub/Sub and Kubernetes clients (functions-framework's command
has loaded the framework and Flask before it loads a function) makes most of about
190,000 objects that live as long as the instance. The collector would traverse them all
again and again while they load (a quarter of the import time, measured: 0.45 s with
it, 0.35 s without) and in every full collection afterwards. So it is paused while they
load, and what they made is then frozen (gc.freeze): moved where the collector never
looks again. Those objects are never freed anyway; what is frozen besides them is kept
for good: the cycles that happen to be garbage at that moment (about 1,700 objects after
all the libraries load, measured), and, at the Kubernetes client's import, which the
first alert that needs the cluster makes, whatever other requests in flight hold then.
Both are once per instance.
"""

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the collector, then freeze every object made so far and resume it; only the
    use that paused it resumes it, so a nested use never resumes it early."""
    pausing = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if pausing:
            gc.enable()
