"""The one small vocabulary of failure (docs/architecture.md, "Contracts").

A PermanentError can never succeed on redelivery: the responder dead-letters the message
with the error's reason and acks it; ingest answers 400. A TransientError may pass: the
responder raises it so Pub/Sub redelivers; on the subscription's last delivery attempt the
responder dead-letters the message with the error's reason itself (Pub/Sub would do it
without the reason), and should that publish fail, Pub/Sub still dead-letters it. Nothing
is dropped either way.
"""


class PermanentError(Exception):
    """The message can never succeed; `reason` is a short machine word for dashboards."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class TransientError(Exception):
    """A failure that may pass (timeouts, 5xx, 429, lost connections, misconfigured access).

    `reason` is a short machine word like PermanentError's: the dead letter's reason when
    the last delivery attempt fails with it.
    """

    def __init__(self, detail: str, reason: str = "transient_failure") -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class InvalidAlertError(PermanentError):
    """Data that is not a Falco alert: `reason` is `invalid_json` or `invalid_alert`."""
