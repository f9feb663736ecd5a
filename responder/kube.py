"""Kubernetes credentials per cluster, loaded once per instance on first use.

With no `clusters` in the policy there is one cluster: KUBECONFIG_SECRET (Secret Manager),
else KUBECONFIG (a file), else the in-cluster service account. With `clusters`, each named
cluster has its own kubeconfig (a Secret Manager version, or a context of KUBECONFIG),
optionally authenticated with the function's own Google identity (GKE).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import yaml

from responder import k8s
from responder.actions.base import KubeApis
from responder.policy import ClusterAccess
from shared import config
from shared.secrets import read_secret
from shared.structured_log import log

if TYPE_CHECKING:
    from google.auth.credentials import Credentials
    from kubernetes.client import ApiClient, Configuration

logger = logging.getLogger("falco_responder.responder")

# GKE authenticates a Google identity by the email its token carries: without
# userinfo.email in the scopes, the API server refuses the token.
GOOGLE_SCOPES = (
    "https://www.googleapis.com/auth/cloud-platform",
    "https://www.googleapis.com/auth/userinfo.email",
)
# Refresh the Google access token this long before it expires.
REFRESH_MARGIN = timedelta(minutes=5)


class GoogleToken:
    """A Google access token for the Kubernetes API, refreshed before it expires.

    google-auth is imported only here, by a cluster that uses Google identity.
    """

    def __init__(self, credentials: Credentials | None = None) -> None:
        import google.auth

        self.credentials = credentials or google.auth.default(scopes=GOOGLE_SCOPES)[0]
        self._lock = threading.Lock()

    def current(self) -> str:
        """A token valid for at least REFRESH_MARGIN."""
        with self._lock:
            expiry = self.credentials.expiry
            if expiry is not None and expiry.tzinfo is None:
                expiry = expiry.replace(tzinfo=UTC)  # google-auth keeps naive UTC
            stale = expiry is None or expiry - datetime.now(UTC) < REFRESH_MARGIN
            if not self.credentials.token or stale:
                from google.auth.transport.requests import Request

                self.credentials.refresh(Request())
            return str(self.credentials.token)


def use_google_identity(configuration: Configuration, token: GoogleToken) -> None:
    """Authenticate every request with the Google token (the kubeconfig holds no user)."""

    def refresh(conf: Configuration) -> None:
        conf.api_key["authorization"] = f"Bearer {token.current()}"

    # The whole header value, no prefix: client releases look the prefix up under
    # different keys ("BearerToken" or "authorization"), the value under either.
    configuration.api_key.pop("BearerToken", None)  # a token in the kubeconfig would win
    configuration.api_key_prefix.pop("BearerToken", None)
    configuration.api_key_prefix.pop("authorization", None)
    configuration.api_key["authorization"] = ""  # the client sends only keys it has
    configuration.refresh_api_key_hook = refresh


@functools.cache
def kube_api_client_class() -> type[ApiClient]:
    """KubeApiClient: the client, decoding Kubernetes times (RFC 3339) with the standard
    library. Defined on first use, as it subclasses the client's ApiClient (responder.k8s).

    dateutil's general-purpose parser, which the client uses, was the largest single
    cost of reading a pod. This replaces the client's private decoder (kubernetes < 37,
    as pinned); anything fromisoformat refuses still goes to the client's own.
    """

    class KubeApiClient(k8s.ApiClient):
        def _ApiClient__deserialize_datetime(self, text: str) -> datetime:
            try:
                return datetime.fromisoformat(text)
            except (TypeError, ValueError):
                return super()._ApiClient__deserialize_datetime(text)

    return KubeApiClient


def _finish(configuration: Configuration, source: str) -> KubeApis:
    # Pub/Sub owns retries (with backoff and a dead-letter topic), so the client makes none.
    configuration.retries = False
    log(
        logger,
        logging.INFO,
        "Kubernetes credentials loaded",
        source=source,
        server=configuration.host,
    )
    return KubeApis(kube_api_client_class()(configuration))


def _default_configuration() -> tuple[Configuration, str]:
    configuration = k8s.Configuration()
    secret = config.env(config.KUBECONFIG_SECRET)
    path = config.env(config.KUBECONFIG)
    if secret is not None:
        document = yaml.safe_load(read_secret(secret))
        k8s.config.load_kube_config_from_dict(document, client_configuration=configuration)
        return configuration, f"secret {secret}"
    if path is not None:
        k8s.config.load_kube_config(config_file=path, client_configuration=configuration)
        return configuration, f"file {path}"
    k8s.config.load_incluster_config(client_configuration=configuration)
    return configuration, "in-cluster service account"


def _cluster_configuration(name: str, access: ClusterAccess) -> tuple[Configuration, str]:
    configuration = k8s.Configuration()
    if access.kubeconfig_secret is not None:
        document = yaml.safe_load(read_secret(access.kubeconfig_secret))
        k8s.config.load_kube_config_from_dict(document, client_configuration=configuration)
        source = f"cluster {name}: secret {access.kubeconfig_secret}"
    else:
        k8s.config.load_kube_config(
            config_file=config.env(config.KUBECONFIG),
            context=access.kubeconfig_context,
            client_configuration=configuration,
        )
        source = f"cluster {name}: context {access.kubeconfig_context}"
    return configuration, source


class Clusters:
    """API clients per cluster, each created on first use and kept (failures are not)."""

    def __init__(
        self,
        access: dict[str, ClusterAccess],
        google_token: Callable[[], GoogleToken] = GoogleToken,
    ) -> None:
        self.access = access
        self.google_token = functools.cache(google_token)
        self._clients: dict[str | None, KubeApis] = {}
        self._lock = threading.Lock()

    def apis(self, cluster: str | None) -> KubeApis:
        """The cluster's clients; `cluster` is None in single-cluster mode."""
        with self._lock:
            if cluster not in self._clients:
                self._clients[cluster] = self._load(cluster)
            return self._clients[cluster]

    def _load(self, cluster: str | None) -> KubeApis:
        if cluster is None:
            return _finish(*_default_configuration())
        access = self.access[cluster]
        configuration, source = _cluster_configuration(cluster, access)
        if access.google_identity:
            use_google_identity(configuration, self.google_token())
            source += ", Google identity"
        return _finish(configuration, source)
