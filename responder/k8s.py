"""The Kubernetes client, imported when an alert first needs the cluster.

Importing `kubernetes` costs 0.3-0.4 s (its package imports every model and API class),
and many alerts never reach the cluster: those the policy skips, those a rail refuses
before reading it, those dead-lettered as invalid. So no responder module imports it at
the top: each names what it uses through this module at call time (`k8s.CoreV1Api`,
`k8s.ApiException`, `k8s.config.load_kube_config`), and the first such name imports the
client (PEP 562). Annotations import from `kubernetes` under TYPE_CHECKING only.

The import runs with the collector paused (shared.collector). Threads of one instance may
get here at once: Python's import lock lets one of them run the import while the others
wait for it to finish, so every thread sees the whole client; two threads caching the
same name store the same object.
"""

import functools
from types import ModuleType
from typing import Any

from shared.collector import collector_paused


@functools.cache
def _kubernetes() -> ModuleType:
    """The package, imported once with the collector paused (threads racing the first
    call wait on Python's import lock; each freezes once, which is harmless)."""
    with collector_paused():
        import kubernetes  # its package imports both kubernetes.client and .config
    return kubernetes


def __getattr__(name: str) -> Any:
    """`name` from `kubernetes.client`, or `config` (the `kubernetes.config` module); kept
    in this module's globals, so a name comes here only once."""
    if name.startswith("__"):  # probes such as __path__ or __wrapped__ import nothing
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    kubernetes = _kubernetes()
    source = kubernetes if name == "config" else kubernetes.client
    try:
        value = getattr(source, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value
    return value
