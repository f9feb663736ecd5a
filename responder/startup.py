"""The policy this instance serves, as the deployment completes and bounds it.

- CLUSTER_NAME names the one cluster of single-cluster mode when the policy does not
  (Terraform sets it when `clusters` has one entry); a policy naming another is an error.
- RESPONDER_MEMORY (Terraform sets it from responder_memory) must hold what THREADS
  evidence captures may keep at once, beside the runtime itself; unset (a developer's
  machine), nothing is checked.
"""

from pathlib import Path

from responder.actions.evidence import CaptureEvidence
from responder.policy import Policy, PolicyError, check_cluster_name, load_policy
from shared import config

# What the runtime, its libraries and a Kubernetes client take before any capture (the
# bench measures about half of it).
RUNTIME_BYTES = 256 * 1024 * 1024


def with_cluster_name(policy: Policy, cluster_name: str | None, source: str) -> Policy:
    """The policy with the deployment's cluster name, when it is single-cluster and names none."""
    if cluster_name is None or policy.clusters:
        return policy
    if policy.cluster_name is None:
        try:
            check_cluster_name(cluster_name)
        except ValueError as exc:
            raise ValueError(f"{config.CLUSTER_NAME}: {exc}") from None
        return policy.model_copy(update={"cluster_name": cluster_name})
    if policy.cluster_name != cluster_name:
        raise PolicyError(
            f"policy {source}: cluster_name is {policy.cluster_name!r} but "
            f"{config.CLUSTER_NAME} is {cluster_name!r}: which cluster this responder serves "
            "must be one answer"
        )
    return policy


def check_capture_memory(policy: Policy, memory: int, concurrency: int, source: str) -> None:
    """Every capture_evidence, run by `concurrency` alerts at once, fits in `memory`."""
    for rule in policy.rules:
        for action in rule.actions:
            if not isinstance(action, CaptureEvidence):
                continue
            needed = RUNTIME_BYTES + concurrency * action.memory_bytes
            if needed > memory:
                mib = 1024 * 1024
                raise PolicyError(
                    f"policy {source}: rules ({rule.name}).capture_evidence: {concurrency} "
                    f"captures at once may hold {concurrency * action.memory_bytes // mib} MiB "
                    f"(max_total_bytes and two of max_bytes each), with the runtime's "
                    f"{RUNTIME_BYTES // mib} MiB over the instance's {memory // mib} MiB "
                    f"({config.RESPONDER_MEMORY}): lower them, or raise responder_memory"
                )


def load_served_policy(path: Path) -> Policy:
    """The policy file as this deployment serves it; PolicyError (or ValueError for a
    variable) otherwise."""
    source = str(path)
    policy = with_cluster_name(load_policy(path), config.env(config.CLUSTER_NAME), source)
    memory = config.env_memory_bytes(config.RESPONDER_MEMORY)
    if memory is not None:
        concurrency = config.env_int(config.THREADS, config.DEFAULT_RESPONDER_CONCURRENCY)
        check_capture_memory(policy, memory, concurrency, source)
    return policy
