"""One Pub/Sub message in, one outcome out: parse, decide, check, act, record.

Return normally and the message is acked; raise and Pub/Sub redelivers it. Permanent
failures are published to the dead-letter topic first, then acked, so nothing is lost
and nothing is retried in vain.
"""

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes.client import CoreV1Api

from responder.actions import ActionContext
from responder.decision import plan
from responder.failures import classify
from responder.outcome import (
    ActionResult,
    Decision,
    Outcome,
    OutcomeRecord,
    log_outcome,
    summarize,
    to_json,
)
from responder.policy import Policy
from shared import config
from shared.alert import FalcoAlert, parse_alert
from shared.envelope import (
    ReceivedMessage,
    dead_letter_attributes,
    message_from_event_data,
)
from shared.errors import PermanentError, TransientError
from shared.pubsub import publish_confirmed
from shared.structured_log import bind_trace, log
from shared.tracing import TRACE_ATTRIBUTE

logger = logging.getLogger("falco_responder.responder")

DEFAULT_POLICY_FILE = Path(__file__).with_name("policy.yaml")


@dataclass(frozen=True)
class Settings:
    """Responder configuration, read once when the instance starts."""

    dead_letter_topic: str
    responses_topic: str | None
    policy_file: Path
    dry_run: bool
    kube_timeout: float

    @classmethod
    def from_env(cls) -> "Settings":
        """From DEAD_LETTER_TOPIC, RESPONSES_TOPIC, POLICY_FILE, DRY_RUN, KUBE_TIMEOUT_SECONDS."""
        policy = config.env(config.POLICY_FILE)
        return cls(
            dead_letter_topic=config.env(config.DEAD_LETTER_TOPIC, config.DEFAULT_DEAD_LETTER_TOPIC)
            or "",
            responses_topic=config.env(config.RESPONSES_TOPIC),
            policy_file=Path(policy) if policy else DEFAULT_POLICY_FILE,
            dry_run=config.env_flag(config.DRY_RUN),
            kube_timeout=config.env_float(
                config.KUBE_TIMEOUT_SECONDS, config.DEFAULT_KUBE_TIMEOUT_SECONDS
            ),
        )


class Responder:
    """Handles messages for one function instance."""

    def __init__(
        self, settings: Settings, policy: Policy, core_api: Callable[[], CoreV1Api]
    ) -> None:
        self.settings = settings
        self.policy = policy
        self.core_api = core_api

    def handle_event_data(self, event_data: Any, trace_id: str | None = None) -> OutcomeRecord:
        """Entry for a `messagePublished` CloudEvent's data.

        Logs carry the trace ingest put on the message, else the push request's own.
        """
        try:
            message = message_from_event_data(event_data)
        except PermanentError as exc:
            raw = json.dumps(event_data, default=str).encode()
            with bind_trace(trace_id):
                return self._dead_letter(ReceivedMessage(raw), exc, alert=None)
        with bind_trace(message.attributes.get(TRACE_ATTRIBUTE) or trace_id):
            return self.handle(message)

    def handle(self, message: ReceivedMessage) -> OutcomeRecord:
        """Decide and act on one message; raises TransientError for Pub/Sub to retry."""
        alert: FalcoAlert | None = None
        try:
            alert = parse_alert(message.data)
            record = self._respond(alert, message)
        except PermanentError as exc:
            return self._dead_letter(message, exc, alert)
        except TransientError as exc:
            log(
                logger,
                logging.WARNING,
                f"will retry: {exc}",
                message_id=message.message_id,
                alert_id=alert.alert_id if alert else None,
                rule=alert.rule if alert else None,
            )
            raise
        self._record(record)
        return record

    def _respond(self, alert: FalcoAlert, message: ReceivedMessage) -> OutcomeRecord:
        decided = plan(self.policy, alert, self.settings.dry_run)
        rule_name = decided.rule.name if decided.rule else None
        if not decided.acts or decided.rule is None or decided.pod is None:
            return OutcomeRecord(
                alert_id=alert.alert_id,
                rule=alert.rule,
                priority=alert.priority.label,
                message_id=message.message_id,
                decision=Decision.SKIP,
                outcome=Outcome.SKIPPED,
                reason=decided.skip_reason or "nothing to do",
                policy_rule=rule_name,
            )
        dry_run = decided.dry_run
        rule = decided.rule
        context = ActionContext(
            core=self._core(),
            alert=alert,
            pod=decided.pod,
            dry_run=dry_run,
            timeout=self.settings.kube_timeout,
        )
        results: list[ActionResult] = []
        for action in rule.actions:
            try:
                results.append(action.run(context))
            except Exception as exc:
                raise classify(exc) from exc
        outcome = summarize(results)
        return OutcomeRecord(
            alert_id=alert.alert_id,
            rule=alert.rule,
            priority=alert.priority.label,
            message_id=message.message_id,
            decision=Decision.ACT,
            outcome=outcome,
            reason=f"policy rule {rule.name}" + (" (dry run)" if dry_run else ""),
            policy_rule=rule.name,
            dry_run=dry_run,
            actions=results,
        )

    def _core(self) -> CoreV1Api:
        try:
            return self.core_api()
        except Exception as exc:  # credentials may be fixed: retry, then dead-letter
            raise TransientError(f"cannot load Kubernetes credentials: {exc!r}") from exc

    def _dead_letter(
        self, message: ReceivedMessage, error: PermanentError, alert: FalcoAlert | None
    ) -> OutcomeRecord:
        attributes = dead_letter_attributes(
            message.attributes, error.reason, error.detail, datetime.now(UTC)
        )
        # Unconfirmed means not dead-lettered: raise so Pub/Sub delivers it again.
        try:
            publish_confirmed(self.settings.dead_letter_topic, [(message.data, attributes)])
        except Exception as exc:
            raise TransientError(
                f"cannot publish to dead-letter topic {self.settings.dead_letter_topic}: {exc!r}"
            ) from exc
        record = OutcomeRecord(
            alert_id=alert.alert_id if alert else message.attributes.get("alert_id"),
            rule=alert.rule if alert else message.attributes.get("rule"),
            priority=alert.priority.label if alert else None,
            message_id=message.message_id,
            decision=Decision.DEAD_LETTER,
            outcome=Outcome.DEAD_LETTERED,
            reason=error.detail,
            error_reason=error.reason,
        )
        self._record(record)
        return record

    def _record(self, record: OutcomeRecord) -> None:
        log_outcome(record)
        if self.settings.responses_topic:
            attributes = {
                key: value
                for key, value in {
                    "alert_id": record.alert_id,
                    "outcome": record.outcome.value,
                    "decision": record.decision.value,
                }.items()
                if value
            }
            try:
                publish_confirmed(self.settings.responses_topic, [(to_json(record), attributes)])
            except Exception as exc:  # redelivery is safe: every action is idempotent
                raise TransientError(f"cannot publish the outcome record: {exc!r}") from exc
