"""The outcome record's publish failing, through the deployed path: nothing is lost and
nothing is doubled."""

from google.cloud import pubsub_v1

from localdev.local_stack.policies import MANY_ACTIONS, default_policy_with
from localdev.local_stack.stack import LocalStack
from localdev.local_stack.wait import wait_until


def test_one_dead_letter_per_failure_when_the_outcome_cannot_be_published(stack, unique):
    with LocalStack(
        pubsub_host=stack.pubsub_host,
        project=f"falco-responder-no-responses-{unique}",
        policy_file=default_policy_with(MANY_ACTIONS),
    ) as local:
        publisher = pubsub_v1.PublisherClient()
        publisher.delete_topic(request={"topic": local.topology.responses_topic})
        data = f"not an alert {unique}".encode()
        local.publish(data, alert_id=unique)
        wait_until(lambda: local.dead_letters.where(alert_id=unique), 60, "the dead letter")
        # Logged once the dead letter was confirmed, by a handler that then returns (the
        # push is acked); before, it raised, and every redelivery dead-lettered again.
        wait_until(
            lambda: "outcome record not published" in local.responder.log_text(),
            60,
            "the responder to log the outcome it could not publish",
        )
        assert len(local.dead_letters.where(alert_id=unique)) == 1
        # The outcome record itself is in the log, as always.
        assert f'"alert_id": "{unique}"' in local.responder.log_text()
