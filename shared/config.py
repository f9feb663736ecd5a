"""The one place for the names other tools rely on: environment variables, topics, limits.

docs/architecture.md fixes these names; Terraform, the local stack and the tests read them
from here.
"""

import os
import re

# Environment variables (docs/architecture.md, "Contracts").
GOOGLE_CLOUD_PROJECT = "GOOGLE_CLOUD_PROJECT"
PUBSUB_EMULATOR_HOST = "PUBSUB_EMULATOR_HOST"
ALERTS_TOPIC = "ALERTS_TOPIC"
INGEST_TOKEN = "INGEST_TOKEN"  # noqa: S105 (a variable name, not a secret)
INGEST_TOKEN_SECRET = "INGEST_TOKEN_SECRET"  # noqa: S105
INGEST_MAX_BODY_BYTES = "INGEST_MAX_BODY_BYTES"
INGEST_MAX_ALERTS = "INGEST_MAX_ALERTS"
INGEST_BODY_TIMEOUT_SECONDS = "INGEST_BODY_TIMEOUT_SECONDS"
DEAD_LETTER_TOPIC = "DEAD_LETTER_TOPIC"
RESPONSES_TOPIC = "RESPONSES_TOPIC"
POLICY_FILE = "POLICY_FILE"
DRY_RUN = "DRY_RUN"
KUBECONFIG = "KUBECONFIG"
KUBECONFIG_SECRET = "KUBECONFIG_SECRET"  # noqa: S105
KUBE_TIMEOUT_SECONDS = "KUBE_TIMEOUT_SECONDS"
# The push subscription's max_delivery_attempts (Terraform sets it): on that attempt the
# responder dead-letters a transient failure itself, with its reason. Unset: never.
PUSH_MAX_DELIVERY_ATTEMPTS = "PUSH_MAX_DELIVERY_ATTEMPTS"
# functions-framework's own: worker threads of the function's process.
THREADS = "THREADS"
EVIDENCE_BUCKET = "EVIDENCE_BUCKET"  # capture_evidence's default bucket (Terraform sets it)
# The one cluster a single-cluster responder serves, when the policy names none (Terraform
# sets it when `clusters` has one entry).
CLUSTER_NAME = "CLUSTER_NAME"
# The instance's memory as Cloud Run sizes it (`512Mi`; Terraform sets responder_memory),
# checked against what the policy's evidence captures may hold at once.
RESPONDER_MEMORY = "RESPONDER_MEMORY"
# Ingest's instance memory (Terraform sets ingest_memory): bounds the bodies parsed at once.
INGEST_MEMORY = "INGEST_MEMORY"
STORAGE_EMULATOR_HOST = "STORAGE_EMULATOR_HOST"

# Default resource names, shared by Terraform and the local stack.
DEFAULT_ALERTS_TOPIC = "falco-alerts"
DEFAULT_DEAD_LETTER_TOPIC = "falco-alerts-dead-letter"
DEFAULT_RESPONSES_TOPIC = "falco-responses"
RESPONDER_PUSH_SUBSCRIPTION = "falco-alerts-responder"
DEAD_LETTER_SUBSCRIPTION = "falco-alerts-dead-letter"
MAX_DELIVERY_ATTEMPTS = 5

# Ingest limits: defaults, each overridable by its variable above.
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_ALERTS = 500
DEFAULT_BODY_TIMEOUT_SECONDS = 10.0

# Requests one instance serves at once (Cloud Run concurrency, and THREADS to match);
# terraform/variables.tf says why.
DEFAULT_INGEST_CONCURRENCY = 20
DEFAULT_RESPONDER_CONCURRENCY = 4

# Every Kubernetes API call gives up after this many seconds (then Pub/Sub retries).
DEFAULT_KUBE_TIMEOUT_SECONDS = 10.0


def env(name: str, default: str | None = None) -> str | None:
    """The variable's value, with empty strings treated as unset."""
    value = os.environ.get(name, "").strip()
    return value or default


def env_flag(name: str) -> bool:
    """True for 1/true/yes/on (any case); anything else, or unset, is false."""
    return (env(name) or "").lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    """An integer variable; a value that is not a positive integer is a start-up error."""
    raw = env(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected a positive integer") from None
    if value <= 0:
        raise ValueError(f"{name}={raw!r}: expected a positive integer")
    return value


def env_optional_int(name: str) -> int | None:
    """A positive integer variable, or None when unset; anything else is a start-up error."""
    return env_int(name, 0) if env(name) is not None else None


def env_float(name: str, default: float) -> float:
    """A positive number variable; anything else is a start-up error."""
    raw = env(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r}: expected a positive number") from None
    if value <= 0:
        raise ValueError(f"{name}={raw!r}: expected a positive number")
    return value


_QUANTITY = re.compile(r"(\d+)(Mi|Gi|M|G)")
_UNITS = {"Mi": 1024**2, "Gi": 1024**3, "M": 1000**2, "G": 1000**3}


def env_memory_bytes(name: str) -> int | None:
    """A Cloud Run memory quantity (`512Mi`, `1Gi`, `512M`) in bytes, or None when unset;
    anything else is a start-up error."""
    raw = env(name)
    if raw is None:
        return None
    match = _QUANTITY.fullmatch(raw)
    if not match:
        raise ValueError(f"{name}={raw!r}: expected a quantity like 512Mi or 1Gi")
    return int(match.group(1)) * _UNITS[match.group(2)]


def project_id() -> str:
    """The Google Cloud project; required by both functions."""
    value = env(GOOGLE_CLOUD_PROJECT)
    if value is None:
        raise RuntimeError(f"{GOOGLE_CLOUD_PROJECT} is not set")
    return value
