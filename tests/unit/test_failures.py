import json

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from responder.failures import classify
from shared.errors import PermanentError, TransientError


def _api_error(status: int, message: str = "boom") -> ApiException:
    error = ApiException(status=status, reason="Reason")
    error.body = json.dumps({"kind": "Status", "message": message, "code": status})
    return error


@pytest.mark.parametrize("status", [401, 403, 429, 500, 502, 503, 504])
def test_statuses_that_may_pass_are_transient(status):
    failure = classify(_api_error(status, "try later"))
    assert isinstance(failure, TransientError)
    assert f"Kubernetes answered {status}: try later" in str(failure)


@pytest.mark.parametrize("status", [400, 405, 422])
def test_a_request_the_api_refuses_is_permanent(status):
    failure = classify(_api_error(status, "bad request"))
    assert isinstance(failure, PermanentError)
    assert failure.reason == "kubernetes_rejected"


def test_credentials_fault_is_logged_loudly(caplog):
    classify(_api_error(403, 'pods "x" is forbidden'))
    assert any(r.levelname == "CRITICAL" for r in caplog.records)


@pytest.mark.parametrize(
    "error",
    [
        urllib3.exceptions.ReadTimeoutError(None, "/", "read timed out"),
        urllib3.exceptions.MaxRetryError(None, "/"),
        ConnectionRefusedError(),
        TimeoutError(),
    ],
)
def test_network_failures_are_transient(error):
    assert isinstance(classify(error), TransientError)


def test_anything_else_is_left_as_it_is():
    error = KeyError("bug")
    assert classify(error) is error


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (401, "kube_unauthorized"),
        (403, "kube_forbidden"),
        (429, "kube_unavailable"),
        (503, "kube_unavailable"),
    ],
)
def test_each_transient_failure_names_its_reason_for_the_last_attempts_dead_letter(status, reason):
    assert classify(_api_error(status)).reason == reason


def test_an_unreachable_api_server_is_named_so():
    assert classify(ConnectionRefusedError()).reason == "kube_unreachable"
