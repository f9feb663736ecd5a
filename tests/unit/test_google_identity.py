"""The Google access token used for GKE: fetched on first use, refreshed before expiry.

Google's token endpoint has no emulator: the credentials here mint numbered tokens."""

from datetime import UTC, datetime, timedelta

from google.auth.credentials import Credentials
from kubernetes import client

from responder.kube import GOOGLE_SCOPES, GoogleToken, use_google_identity


class NumberedCredentials(Credentials):
    def __init__(self, lifetime: timedelta) -> None:
        super().__init__()
        self.lifetime = lifetime
        self.refreshes = 0

    def refresh(self, request: object) -> None:
        self.refreshes += 1
        self.token = f"token-{self.refreshes}"
        # google-auth keeps expiry as naive UTC
        self.expiry = (datetime.now(UTC) + self.lifetime).replace(tzinfo=None)


def test_a_token_is_fetched_once_and_reused_while_valid():
    credentials = NumberedCredentials(timedelta(hours=1))
    token = GoogleToken(credentials)
    assert [token.current() for _ in range(3)] == ["token-1"] * 3
    assert credentials.refreshes == 1


def test_a_token_close_to_expiry_is_refreshed_first():
    credentials = NumberedCredentials(timedelta(minutes=4))  # inside the 5-minute margin
    token = GoogleToken(credentials)
    assert token.current() == "token-1"
    assert token.current() == "token-2"


def test_every_request_carries_the_current_token():
    credentials = NumberedCredentials(timedelta(minutes=1))
    configuration = client.Configuration()
    use_google_identity(configuration, GoogleToken(credentials))
    first = configuration.auth_settings()["BearerToken"]["value"]
    second = configuration.auth_settings()["BearerToken"]["value"]
    assert (first, second) == ("Bearer token-1", "Bearer token-2")


def test_the_token_carries_the_email_scope_gke_authenticates_by():
    assert "https://www.googleapis.com/auth/userinfo.email" in GOOGLE_SCOPES
