"""Object name rules from k8s.io/apimachinery/pkg/util/validation, with upstream messages."""

from __future__ import annotations

import re

_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = _LABEL + r"(\." + _LABEL + ")*"
_LABEL_RE = re.compile(_LABEL)
_SUBDOMAIN_RE = re.compile(_SUBDOMAIN)

# Both texts are upstream's, including the double space after 'my-name',.
_LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
    f"regex used for validation is '{_LABEL}')"
)
_SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
    f"regex used for validation is '{_SUBDOMAIN}')"
)


def dns1123_label(value: str) -> list[str]:
    """Problems with ``value`` as a namespace-style name; empty when it is valid."""
    problems = []
    if len(value) > 63:
        problems.append("must be no more than 63 characters")
    if not _LABEL_RE.fullmatch(value):
        problems.append(_LABEL_MESSAGE)
    return problems


def dns1123_subdomain(value: str) -> list[str]:
    """Problems with ``value`` as a pod-style name; empty when it is valid."""
    problems = []
    if len(value) > 253:
        problems.append("must be no more than 253 characters")
    if not _SUBDOMAIN_RE.fullmatch(value):
        problems.append(_SUBDOMAIN_MESSAGE)
    return problems
