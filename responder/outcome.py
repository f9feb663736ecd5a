"""The outcome record: one per alert handled, logged and optionally published."""

import json
import logging
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from shared.structured_log import log

logger = logging.getLogger("falco_responder.responder")

# Cloud Logging knows NOTICE; Python's logging does not until told.
NOTICE = 25
logging.addLevelName(NOTICE, "NOTICE")


class ActionStatus(StrEnum):
    """What became of one action. A skip is never reported as success."""

    DONE = "done"
    ALREADY_DONE = "already_done"
    SKIPPED = "skipped"
    DRY_RUN = "dry_run"
    FAILED = "failed"


class ActionResult(BaseModel):
    """One action's target and what became of it."""

    action: str
    target: str
    outcome: ActionStatus
    reason: str


class Decision(StrEnum):
    """What the responder decided for the alert as a whole.

    REFUSE: a rule matched, but a safety rail (or the matcher) refused it and nothing
    was done; kept apart from ACT so a count of `act` counts only responses.
    """

    ACT = "act"
    SKIP = "skip"
    REFUSE = "refuse"
    DEAD_LETTER = "dead_letter"


class Outcome(StrEnum):
    """The alert's outcome in one word, for dashboards and the log-based metric."""

    ACTED = "acted"
    ALREADY_HANDLED = "already_handled"
    DRY_RUN = "dry_run"
    SKIPPED = "skipped"
    DEAD_LETTERED = "dead_lettered"


class OutcomeRecord(BaseModel):
    """Everything a person needs to know about what happened to one alert."""

    event: str = "alert_outcome"
    alert_id: str | None
    rule: str | None = None
    priority: str | None = None
    message_id: str = ""
    decision: Decision
    outcome: Outcome
    reason: str
    policy_rule: str | None = None
    dry_run: bool = False
    actions: list[ActionResult] = Field(default_factory=list)
    error_reason: str | None = None
    cluster: str | None = None
    # Seconds from the alert's own `time` (Falco saw the event) to this outcome: the last
    # action finished (act), the decision made (skip, refuse) or the dead letter confirmed.
    # None when the message held no alert. Clocks differ: it can be slightly negative.
    event_to_outcome_seconds: float | None = None


def seconds_between(start: datetime, end: datetime) -> float:
    """`end - start` in seconds, to the millisecond: the outcome's latency field."""
    return round((end - start).total_seconds(), 3)


def summarize(results: list[ActionResult]) -> Outcome:
    """One word for the alert: any action done wins, then dry run, then already done."""
    statuses = {r.outcome for r in results}
    if ActionStatus.DONE in statuses:
        return Outcome.ACTED
    if ActionStatus.DRY_RUN in statuses:
        return Outcome.DRY_RUN
    if ActionStatus.ALREADY_DONE in statuses:
        return Outcome.ALREADY_HANDLED
    return Outcome.SKIPPED


_SEVERITY = {
    Outcome.ACTED: NOTICE,
    Outcome.DRY_RUN: NOTICE,
    Outcome.ALREADY_HANDLED: logging.INFO,
    Outcome.SKIPPED: logging.INFO,
    Outcome.DEAD_LETTERED: logging.ERROR,
}


def record_fields(record: OutcomeRecord) -> dict[str, Any]:
    """The record as JSON values: dumped once, then logged and published."""
    return record.model_dump(mode="json")


def log_outcome(record: OutcomeRecord, fields: dict[str, Any] | None = None) -> None:
    """The one structured log line for the alert; `fields` are its record_fields, if
    already dumped."""
    fields = dict(record_fields(record) if fields is None else fields)
    if record.event_to_outcome_seconds is None:
        # Absent, not null: the latency metric (Terraform) counts only lines that have one.
        del fields["event_to_outcome_seconds"]
    # One `action` label for filtering by kind of action in Cloud Logging.
    action = ",".join(dict.fromkeys(a.action for a in record.actions))
    message = f"alert {record.alert_id} ({record.rule}): {record.outcome}: {record.reason}"
    log(logger, _SEVERITY[record.outcome], message, **fields, action=action or None)


# Log lines a safety rail writes when it holds a rule back, beside the outcome line;
# Terraform's alert policies match on jsonPayload.event (terraform/monitoring.tf).
CIRCUIT_BREAKER_OPEN = "circuit_breaker_open"
PROTECTED_NAMESPACE_REFUSED = "protected_namespace_refused"
# Not a refusal: an isolation done, that other NetworkPolicies let traffic through.
ISOLATION_LEAKS = "isolation_leaks"


def log_rail(event: str, message: str, **fields: Any) -> None:
    """One structured WARNING line naming the rail (`event`) that held a rule back, or
    what undermines an action done."""
    log(logger, logging.WARNING, message, event=event, **fields)


def to_json(fields: dict[str, Any]) -> bytes:
    """A record's record_fields as published to RESPONSES_TOPIC."""
    return json.dumps(fields, ensure_ascii=False).encode()
