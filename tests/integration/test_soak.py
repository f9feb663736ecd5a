"""The soak run, small: 500 alerts with 10% of Kubernetes calls failing and the responder
SIGKILLed mid-burst, delivered with Pub/Sub's push contract (`make soak` runs 10,000)."""

from localdev.local_stack.soak import run_soak
from localdev.local_stack.stack import LocalStack

ALERTS = 500


def test_no_alert_is_lost_or_acted_on_twice_through_faults_and_a_kill(stack: LocalStack):
    report = run_soak(ALERTS, pubsub_host=stack.pubsub_host, say=lambda line: None)
    summary = "\n".join(report.lines)
    assert report.lost == 0, summary
    assert report.acted_twice == 0, summary
    assert report.wrong == [], summary
    assert sum(report.ends.values()) == ALERTS, summary
    # The run was as hostile as it says: calls failed, and the killed responder refused pushes.
    assert report.failed_calls >= 0.05 * ALERTS, summary
    assert report.refused_pushes > 0, summary
