"""The one small vocabulary of failure (docs/architecture.md, "Contracts").

A PermanentError can never succeed on redelivery: the responder dead-letters the message
with the error's reason and acks it; ingest answers 400. A TransientError may pass: the
responder raises it so Pub/Sub redelivers, and after the subscription's maximum delivery
attempts Pub/Sub itself dead-letters the message. Nothing is dropped either way.
"""


class PermanentError(Exception):
    """The message can never succeed; `reason` is a short machine word for dashboards."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class TransientError(Exception):
    """A failure that may pass (timeouts, 5xx, 429, lost connections, misconfigured access)."""


class InvalidAlertError(PermanentError):
    """Data that is not a Falco alert: `reason` is `invalid_json` or `invalid_alert`."""
