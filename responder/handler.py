"""One Pub/Sub message in, one outcome out: parse, decide, check, act, record.

Return normally and the message is acked; raise and Pub/Sub redelivers it. Permanent
failures are published to the dead-letter topic first, then acked, so nothing is lost
and nothing is retried in vain.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from responder import k8s
from responder.actions import ActionContext, BaseAction, KubeApis, breaker_fallback
from responder.actions.base import Change, CountedAction
from responder.circuit_breaker import Breaker, LastSeen
from responder.decision import Plan, plan
from responder.failures import classify, classify_vanishing
from responder.guards import Verdict, check, precheck
from responder.outcome import (
    CIRCUIT_BREAKER_OPEN,
    PROTECTED_NAMESPACE_REFUSED,
    ActionResult,
    ActionStatus,
    Decision,
    Outcome,
    OutcomeRecord,
    log_outcome,
    log_rail,
    record_fields,
    seconds_between,
    summarize,
    to_json,
)
from responder.pods import ReadPod, read_pod
from responder.policy import Policy, Rule, Safety
from shared import config
from shared.alert import FalcoAlert, PodRef, parse_alert
from shared.envelope import (
    ReceivedMessage,
    clip,
    dead_letter_attributes,
    message_from_event_data,
)
from shared.errors import PermanentError, TransientError
from shared.pubsub import publish_confirmed
from shared.structured_log import bind_trace, log
from shared.tracing import TRACE_ATTRIBUTE, trace_id_from_attribute

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
    # The push subscription's max_delivery_attempts; None: never dead-letter a transient
    # failure here, Pub/Sub does it after its last attempt.
    max_delivery_attempts: int | None = None

    @classmethod
    def from_env(cls) -> Settings:
        """From DEAD_LETTER_TOPIC, RESPONSES_TOPIC, POLICY_FILE, DRY_RUN, KUBE_TIMEOUT_SECONDS,
        PUSH_MAX_DELIVERY_ATTEMPTS."""
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
            max_delivery_attempts=config.env_optional_int(config.PUSH_MAX_DELIVERY_ATTEMPTS),
        )

    def is_last_attempt(self, delivery_attempt: int | None) -> bool:
        """Whether Pub/Sub will not deliver the message again after this attempt fails."""
        return (
            delivery_attempt is not None
            and self.max_delivery_attempts is not None
            and delivery_attempt >= self.max_delivery_attempts
        )


class ActionFailedError(PermanentError):
    """An action the cluster refused for good (or a transient failure on the last delivery
    attempt); the alert is dead-lettered for replay, with what was done in `record`."""

    def __init__(self, detail: str, record: OutcomeRecord, reason: str = "action_failed") -> None:
        super().__init__(reason, detail)
        self.record = record


class ActionsInterruptedError(TransientError):
    """A transient failure part-way through the alert's actions, which Pub/Sub retries.

    `results` are the actions' results so far, the failed one and those not run included;
    `record` is the alert's outcome record with them, once `evaluate` has made it: on the
    last delivery attempt the dead letter's record says what was done before the failure.
    """

    def __init__(self, failure: TransientError, results: list[ActionResult]) -> None:
        super().__init__(failure.detail, failure.reason)
        self.results = results
        self.record: OutcomeRecord | None = None


def _skipped(actions: list[BaseAction], target: str, reason: str) -> list[ActionResult]:
    return [a.result(target, ActionStatus.SKIPPED, reason) for a in actions]


# Read-only without clients (`policy explain` with no kubeconfig): what was not checked.
UNCHECKED = (
    "would run unless a rail that reads the cluster refuses: not checked (the pod's UID "
    "and age, opt-out labels, its owner, min_healthy_replicas, the circuit breaker)"
)
WOULD_RUN = "would run (read-only: nothing sent)"


class Responder:
    """Handles messages for one function instance.

    `read_only` (for `falco-responder policy explain`) decides and checks every rail the
    same way but writes nothing: an action that would run is reported as a dry run. With
    `apis` None too, the rails that read the cluster are reported unchecked.
    """

    def __init__(
        self,
        settings: Settings,
        policy: Policy,
        apis: Callable[[str | None], KubeApis] | None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        read_only: bool = False,
    ) -> None:
        self.settings = settings
        self.policy = policy
        self.apis = apis
        self.now = now
        self.read_only = read_only or apis is None
        # Each breaker's count as last seen, by cluster and namespace (circuit_breaker.py).
        self._counts: dict[tuple[str | None, str], LastSeen] = {}
        self._breaker_windows = policy.breaker_windows()
        self._counts_lock = threading.Lock()

    def handle_event_data(
        self, event_data: Any, trace_id: str | None = None, delivery_attempt: int | None = None
    ) -> OutcomeRecord:
        """Entry for a `messagePublished` CloudEvent's data, and Pub/Sub's delivery attempt.

        Logs carry the trace ingest put on the message, else the push request's own.
        """
        try:
            message = message_from_event_data(event_data)
        except PermanentError as exc:
            raw = json.dumps(event_data, default=str).encode()
            with bind_trace(trace_id):
                return self._dead_letter(ReceivedMessage(raw), exc, alert=None)
        with bind_trace(
            trace_id_from_attribute(message.attributes.get(TRACE_ATTRIBUTE)) or trace_id
        ):
            return self.handle(message, delivery_attempt)

    def handle(
        self, message: ReceivedMessage, delivery_attempt: int | None = None
    ) -> OutcomeRecord:
        """Decide and act on one message; raises TransientError for Pub/Sub to retry.

        On the last delivery attempt a transient failure is dead-lettered here with its
        own reason instead, once; Pub/Sub's own dead letter would only say the attempts
        ran out. Should that dead letter fail, the error is raised as on any attempt.
        """
        alert: FalcoAlert | None = None
        try:
            alert = parse_alert(message.data)
            record = self.evaluate(alert, message.message_id, message.data)
            self._record(record)
        except PermanentError as exc:
            return self._dead_letter(message, exc, alert)
        except TransientError as exc:
            last = self.settings.is_last_attempt(delivery_attempt)
            log(
                logger,
                logging.WARNING,
                f"{'last delivery attempt, dead-lettering' if last else 'will retry'}: {exc}",
                message_id=message.message_id,
                alert_id=alert.alert_id if alert else None,
                rule=alert.rule if alert else None,
                error_reason=exc.reason,
                delivery_attempt=delivery_attempt,
            )
            if not last:
                raise
            detail = f"{exc.detail} (delivery attempt {delivery_attempt}, the last)"
            done = exc.record if isinstance(exc, ActionsInterruptedError) else None
            gave_up = (
                PermanentError(exc.reason, detail)
                if done is None
                else ActionFailedError(detail, done, exc.reason)
            )
            return self._dead_letter(message, gave_up, alert)
        return record

    def _record_for(
        self, alert: FalcoAlert, message_id: str, decided: Plan, **fields: Any
    ) -> OutcomeRecord:
        return OutcomeRecord(
            alert_id=alert.alert_id,
            rule=alert.rule,
            priority=alert.priority.label,
            message_id=message_id,
            cluster=decided.cluster,
            event_to_outcome_seconds=seconds_between(alert.time, self.now()),
            **fields,
        )

    def evaluate(
        self, alert: FalcoAlert, message_id: str = "", received: bytes = b""
    ) -> OutcomeRecord:
        """Decide, check the rails and act; raises PermanentError or TransientError.

        `received` is the message's bytes (empty when evaluated offline)."""
        decided = plan(self.policy, alert, self.settings.dry_run)
        if decided.refusal is not None:
            return self._record_for(
                alert,
                message_id,
                decided,
                decision=Decision.REFUSE,
                outcome=Outcome.SKIPPED,
                reason=decided.refusal,
            )
        if not decided.acts or decided.pod is None:
            return self._record_for(
                alert,
                message_id,
                decided,
                decision=Decision.SKIP,
                outcome=Outcome.SKIPPED,
                reason=decided.skip_reason or "nothing to do",
            )
        results: list[ActionResult] = []
        failures: list[str] = []
        refusals: list[str] = []
        ran: list[Rule] = []
        apis: KubeApis | None = None
        connect = self.apis
        pod = None
        for rule in decided.rules:
            safety = self.policy.safety.overridden_by(rule.safety)
            target = str(decided.pod)
            refused = precheck(alert, decided.pod, safety, self.now())
            if refused:
                results += _skipped(rule.actions, target, refused)
                refusals.append(refused)
                if safety.is_protected(decided.pod.namespace) and not self.read_only:
                    log_rail(
                        PROTECTED_NAMESPACE_REFUSED,
                        f"rule {rule.name} matched {target} in protected namespace "
                        f"{decided.pod.namespace}: nothing done ({refused})",
                        alert_id=alert.alert_id,
                        rule=alert.rule,
                        policy_rule=rule.name,
                        namespace=decided.pod.namespace,
                        pod=decided.pod.name,
                        cluster=decided.cluster,
                    )
                continue
            if connect is None:
                results += [a.result(target, ActionStatus.DRY_RUN, UNCHECKED) for a in rule.actions]
                ran.append(rule)
                continue
            if apis is None:
                apis = self._apis(connect, decided.kube_cluster)
                pod = self._read_pod(apis, decided.pod)
            if pod is None:
                results += [
                    a.result(target, ActionStatus.ALREADY_DONE, "pod not found: already gone")
                    for a in rule.actions
                ]
                continue
            ran.append(rule)
            dry = decided.dry_run or rule.dry_run
            context = ActionContext(
                apis,
                alert,
                decided.pod,
                pod,
                dry,
                self.settings.kube_timeout,
                cluster=decided.cluster,
                received=received,
            )
            try:
                results += self._run_rule(
                    rule, safety, context, failures, refusals, decided.kube_cluster
                )
            except TransientError as exc:  # the rails' reads, or an action part-way
                interrupted = (
                    exc
                    if isinstance(exc, ActionsInterruptedError)
                    else ActionsInterruptedError(exc, [])
                )
                results += interrupted.results
                interrupted.record = self._acted(alert, message_id, decided, results, refusals, ran)
                if interrupted is exc:
                    raise
                raise interrupted from exc
        record = self._acted(alert, message_id, decided, results, refusals, ran)
        if failures:
            raise ActionFailedError("; ".join(failures), record)
        return record

    def _acted(
        self,
        alert: FalcoAlert,
        message_id: str,
        decided: Plan,
        results: list[ActionResult],
        refusals: list[str],
        ran: list[Rule],
    ) -> OutcomeRecord:
        """The record of an alert whose rules ran: what each action did."""
        dry_run = decided.dry_run or any(r.dry_run for r in ran)
        outcome = summarize(results)
        # Nothing done because a rail said no: a refusal, never counted as a response.
        refused_all = outcome is Outcome.SKIPPED and bool(refusals)
        reasons = {r.reason for r in results}
        if outcome is Outcome.SKIPPED and len(reasons) == 1:
            reason = reasons.pop()  # one refusal for everything: say it plainly
        else:
            reason = "policy rules " + ", ".join(r.name for r in decided.rules)
            reason += " (dry run)" if dry_run else ""
        return self._record_for(
            alert,
            message_id,
            decided,
            decision=Decision.REFUSE if refused_all else Decision.ACT,
            outcome=outcome,
            reason=reason,
            policy_rule=decided.rules[0].name,
            dry_run=dry_run,
            actions=results,
        )

    def _apis(self, connect: Callable[[str | None], KubeApis], cluster: str | None) -> KubeApis:
        try:
            return connect(cluster)
        except Exception as exc:  # credentials may be fixed: retry, then dead-letter
            raise TransientError(
                f"cannot load Kubernetes credentials: {exc!r}", "kube_credentials_unavailable"
            ) from exc

    def _read_pod(self, apis: KubeApis, ref: PodRef) -> ReadPod | None:
        try:
            return read_pod(apis.core, ref.name, ref.namespace, self.settings.kube_timeout)
        except k8s.ApiException as exc:
            if exc.status == 404:
                return None
            raise classify(exc) from exc

    def _breaker(self, cluster: str | None, safety: Safety, apis: KubeApis) -> Breaker | None:
        settings = safety.circuit_breaker
        if settings is None:
            return None
        with self._counts_lock:
            seen = self._counts.get((cluster, settings.namespace))
            if seen is None:
                seen = LastSeen(keep=self._breaker_windows.get(settings.namespace))
                self._counts[(cluster, settings.namespace)] = seen
        return Breaker(apis, settings, self.settings.kube_timeout, seen)

    def _run_rule(
        self,
        rule: Rule,
        safety: Safety,
        context: ActionContext,
        failures: list[str],
        refusals: list[str],
        cluster: str | None,
    ) -> list[ActionResult]:
        """The rule's actions in order, behind the rails; a failure stops the rest."""
        apis, target, timeout = context.apis, str(context.pod_ref), context.timeout
        destructive = any(a.destructive for a in rule.actions)
        try:
            verdict = check(
                apis, context.pod, context.pod_ref, context.alert, safety, timeout, destructive
            )
        except Exception as exc:
            raise classify_vanishing(exc, "the pod's namespace or controller") from exc
        if verdict.refuse_all:
            refusals.append(verdict.refuse_all)
            return _skipped(rule.actions, target, verdict.refuse_all)
        breaker = self._breaker(cluster, safety, apis)
        results: list[ActionResult] = []
        for position, action in enumerate(rule.actions):
            try:
                results += self._run_action(action, context, verdict, breaker, refusals)
            except Exception as exc:
                failure = classify(exc)
                if isinstance(failure, TransientError) and action.continue_on_failure:
                    # The rest of the rule does not wait for this action: it runs now, and
                    # the alert is dead-lettered with this reason for a person to replay.
                    failure = PermanentError("action_failed", str(failure))
                if isinstance(failure, TransientError):
                    failed = action.result(target, ActionStatus.FAILED, failure.detail)
                    not_run = _skipped(
                        rule.actions[position + 1 :], target, f"not run: {action.name} failed"
                    )
                    raise ActionsInterruptedError(failure, [*results, failed, *not_run]) from exc
                if not isinstance(failure, PermanentError):
                    raise failure from exc
                results.append(action.result(target, ActionStatus.FAILED, failure.detail))
                failures.append(f"{action.name} on {target}: {failure.detail}")
                if not action.continue_on_failure:
                    results += _skipped(
                        rule.actions[position + 1 :],
                        target,
                        f"not run: {action.name} failed",
                    )
                    break
        return results

    def _run_action(
        self,
        action: BaseAction,
        context: ActionContext,
        verdict: Verdict,
        breaker: Breaker | None,
        refusals: list[str],
    ) -> list[ActionResult]:
        target = str(context.pod_ref)
        if action.destructive:
            refusal = verdict.refusal_for(action.removes_workload)
            if refusal:
                refusals.append(refusal)
                return [action.result(target, ActionStatus.SKIPPED, f"refused: {refusal}")]
        planned: Change | None = None
        if isinstance(action, CountedAction):
            # What it would change, if anything: a slot only for a change to make, keyed
            # by what it changes (the pod, the workload, the node), not by the alert.
            found = action.plan(context)
            if isinstance(found, ActionResult):
                return [found]
            planned = found
        if planned is not None and breaker is not None:
            tripped = breaker.admit(
                planned.key, context.pod_ref.namespace, context.dry_run or self.read_only
            )
            if tripped and self.read_only:
                return [
                    action.result(
                        target, ActionStatus.DRY_RUN, f"{tripped}: would label and record instead"
                    )
                ]
            if tripped:
                action.log_rail(
                    CIRCUIT_BREAKER_OPEN, context, f"{action.name} on {target} held back: {tripped}"
                )
                return breaker_fallback(action, context, tripped)
        if self.read_only:
            return [action.result(target, ActionStatus.DRY_RUN, WOULD_RUN)]
        if planned is not None:
            return [action.apply(context, planned)]
        return [action.run(context)]

    def _dead_letter(
        self, message: ReceivedMessage, error: PermanentError, alert: FalcoAlert | None
    ) -> OutcomeRecord:
        attributes = dead_letter_attributes(
            message.attributes, error.reason, error.detail, self.now()
        )
        # Unconfirmed means not dead-lettered: raise so Pub/Sub delivers it again.
        try:
            publish_confirmed(self.settings.dead_letter_topic, [(message.data, attributes)])
        except Exception as exc:
            raise TransientError(
                f"cannot publish to dead-letter topic {self.settings.dead_letter_topic}: {exc!r}",
                "dead_letter_unpublished",
            ) from exc
        partial = error.record if isinstance(error, ActionFailedError) else None
        record = OutcomeRecord(
            alert_id=alert.alert_id if alert else message.attributes.get("alert_id"),
            rule=alert.rule if alert else message.attributes.get("rule"),
            priority=alert.priority.label if alert else None,
            message_id=message.message_id,
            decision=Decision.DEAD_LETTER,
            outcome=Outcome.DEAD_LETTERED,
            reason=error.detail,
            error_reason=error.reason,
            policy_rule=partial.policy_rule if partial else None,
            dry_run=partial.dry_run if partial else False,
            actions=partial.actions if partial else [],
            cluster=partial.cluster if partial else None,
            event_to_outcome_seconds=seconds_between(alert.time, self.now()) if alert else None,
        )
        # The dead letter is confirmed: from here on, a redelivery would publish a second
        # one. One dead letter per failure, so the outcome's publish is not retried.
        self._record(record, retry_unpublished=False)
        return record

    def _record(self, record: OutcomeRecord, retry_unpublished: bool = True) -> None:
        """Log the record (always, first), then publish it to RESPONSES_TOPIC, awaited.

        Not lost means: every record is in the log, and on the topic at least once. An
        unconfirmed publish raises, so Pub/Sub redelivers the alert (every action is
        idempotent) and its record is published again; except after a confirmed dead
        letter (`retry_unpublished` false), where the dead letter is the lasting record
        and the missing copy is logged as an error instead.
        """
        fields = record_fields(record)
        log_outcome(record, fields)
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
            attributes = {key: clip(value) for key, value in attributes.items()}
            try:
                publish_confirmed(self.settings.responses_topic, [(to_json(fields), attributes)])
            except Exception as exc:
                if retry_unpublished:
                    raise TransientError(
                        f"cannot publish the outcome record: {exc!r}", "outcome_unpublished"
                    ) from exc
                log(
                    logger,
                    logging.ERROR,
                    f"outcome record not published to {self.settings.responses_topic}: {exc!r}",
                    alert_id=record.alert_id,
                    message_id=record.message_id,
                )
