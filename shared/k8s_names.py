"""Kubernetes' own name rules, for names taken from an alert into an API path.

They follow k8s.io/apimachinery/pkg/util/validation/validation.go (IsDNS1123Label,
IsDNS1123Subdomain): a pod or node name is a DNS-1123 subdomain (ValidatePodName,
ValidateNodeName), a namespace a DNS-1123 label (ValidateNamespaceName). So `.`, `..`,
`x/`, `%2F` or uppercase never reach a URL, where a client would drop dot segments or a
proxy decode an escape.
"""

import re

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_LABEL = re.compile(_LABEL)
_DNS1123_SUBDOMAIN = re.compile(rf"{_LABEL}(\.{_LABEL})*")


def dns1123_label_error(value: str) -> str | None:
    """Why `value` is not a DNS-1123 label (a namespace name), or None."""
    if len(value) > DNS1123_LABEL_MAX:
        return f"must be no more than {DNS1123_LABEL_MAX} characters"
    if not _DNS1123_LABEL.fullmatch(value):
        return (
            "a DNS-1123 label must consist of lower case alphanumeric characters or '-', and "
            "must start and end with an alphanumeric character"
        )
    return None


def dns1123_subdomain_error(value: str) -> str | None:
    """Why `value` is not a DNS-1123 subdomain (a pod or node name), or None."""
    if len(value) > DNS1123_SUBDOMAIN_MAX:
        return f"must be no more than {DNS1123_SUBDOMAIN_MAX} characters"
    if not _DNS1123_SUBDOMAIN.fullmatch(value):
        return (
            "a DNS-1123 subdomain must consist of lower case alphanumeric characters, '-' or "
            "'.', and must start and end with an alphanumeric character"
        )
    return None
