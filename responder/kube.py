"""Kubernetes credentials, loaded once per instance on first use."""

import functools
import logging

import yaml
from kubernetes import client
from kubernetes import config as kube_config

from shared import config
from shared.secrets import read_secret
from shared.structured_log import log

logger = logging.getLogger("falco_responder.responder")


def _configuration() -> client.Configuration:
    """KUBECONFIG_SECRET (Secret Manager), else KUBECONFIG (a file), else in-cluster."""
    configuration = client.Configuration()
    secret = config.env(config.KUBECONFIG_SECRET)
    path = config.env(config.KUBECONFIG)
    if secret is not None:
        document = yaml.safe_load(read_secret(secret))
        kube_config.load_kube_config_from_dict(document, client_configuration=configuration)
        source = f"secret {secret}"
    elif path is not None:
        kube_config.load_kube_config(config_file=path, client_configuration=configuration)
        source = f"file {path}"
    else:
        kube_config.load_incluster_config(client_configuration=configuration)
        source = "in-cluster service account"
    # Pub/Sub owns retries (with backoff and a dead-letter topic), so the client makes none.
    configuration.retries = False
    log(
        logger,
        logging.INFO,
        "Kubernetes credentials loaded",
        source=source,
        server=configuration.host,
    )
    return configuration


@functools.cache
def core_api() -> client.CoreV1Api:
    """The core/v1 API of the configured cluster; a failure is not cached."""
    return client.CoreV1Api(client.ApiClient(_configuration()))
