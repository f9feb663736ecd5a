"""CloudEvent function `respond`: one Pub/Sub message per call, acted on by policy.

Accepts Eventarc events (binary or structured) and Pub/Sub push bodies, which
functions-framework turns into the same `messagePublished` CloudEvent.
"""

from shared.collector import collector_paused

with collector_paused():  # the libraries load, and the policy is read
    import flask
    import functions_framework
    from cloudevents.http import CloudEvent

    from responder import kube
    from responder.handler import Responder, Settings
    from responder.startup import load_served_policy
    from shared import structured_log
    from shared.envelope import delivery_attempt
    from shared.tracing import trace_id_from_headers

    structured_log.configure()
    SETTINGS = Settings.from_env()
    # An invalid policy fails the start: better no responder than one acting on a guess.
    POLICY = load_served_policy(SETTINGS.policy_file)
    RESPONDER = Responder(SETTINGS, POLICY, kube.Clusters(POLICY.clusters).apis)


@functions_framework.cloud_event
def respond(event: CloudEvent) -> None:
    """Return to ack; an exception makes functions-framework answer 500, so Pub/Sub retries.

    The push body is read again (functions-framework kept it) for its deliveryAttempt.
    """
    request = flask.request
    RESPONDER.handle_event_data(
        event.data,
        trace_id_from_headers(request.headers),
        delivery_attempt(request.get_json(silent=True)),
    )
