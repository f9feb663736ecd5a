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


def _length_and_pattern(
    value: str, max_length: int, pattern: re.Pattern[str], message: str
) -> list[str]:
    """The shape of upstream's Is* name checks: the length problem, then the pattern's."""
    problems = []
    if len(value) > max_length:
        problems.append(f"must be no more than {max_length} characters")
    if not pattern.fullmatch(value):
        problems.append(message)
    return problems


def dns1123_label(value: str) -> list[str]:
    """Problems with ``value`` as a namespace-style name; empty when it is valid."""
    return _length_and_pattern(value, 63, _LABEL_RE, _LABEL_MESSAGE)


def dns1123_subdomain(value: str) -> list[str]:
    """Problems with ``value`` as a pod-style name; empty when it is valid."""
    return _length_and_pattern(value, 253, _SUBDOMAIN_RE, _SUBDOMAIN_MESSAGE)


_DNS1035 = "[a-z]([-a-z0-9]*[a-z0-9])?"
_DNS1035_MESSAGE = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
    "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    f"'abc-123', regex used for validation is '{_DNS1035}')"
)


def dns1035_label(value: str) -> list[str]:
    """IsDNS1035Label: a version or a lowercased kind."""
    return _length_and_pattern(value, 63, re.compile(_DNS1035), _DNS1035_MESSAGE)


def path_segment_name(value: str) -> list[str]:
    """IsValidPathSegmentName (k8s.io/apimachinery/pkg/api/validation/path): RBAC names,
    resource names in rules, a parameter's name, and the only name rule rest.BeforeCreate
    applies to a kind whose own validation checks no name (a core v1 Event)."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{part}'" for part in ("/", "%") if part in value]


# --- metadata: labels, annotations, owner references (ValidateObjectMeta) ------------------

_LABEL_KEY = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_KEY_RE = re.compile(_LABEL_KEY)
_LABEL_VALUE = f"({_LABEL_KEY})?"
_LABEL_VALUE_RE = re.compile(_LABEL_VALUE)
_NAME_PART_MESSAGE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
    f"regex used for validation is '{_LABEL_KEY}')"
)
_LABEL_VALUE_MESSAGE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    f"'my_value',  or '12345', regex used for validation is '{_LABEL_VALUE}')"
)
_PERCENT = "[0-9]+%"
_PERCENT_MESSAGE = (
    "a valid percent string must be a numeric string followed by an ending '%' "
    f"(e.g. '1%',  or '93%', regex used for validation is '{_PERCENT}')"
)


def qualified_name(value: str) -> list[str]:
    """IsQualifiedName: a label key or annotation key, optionally ``prefix/``-ed."""
    parts = value.split("/")
    if len(parts) > 2:
        return [
            "a qualified name "
            + _NAME_PART_MESSAGE.removeprefix("name part ")
            + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
        ]
    problems = []
    if len(parts) == 2:
        prefix = parts[0]
        if not prefix:
            problems.append("prefix part must be non-empty")
        else:
            problems += ["prefix part " + problem for problem in dns1123_subdomain(prefix)]
    name = parts[-1]
    if not name:
        problems.append("name part must be non-empty")
    elif len(name) > 63:
        problems.append("name part must be no more than 63 characters")
    if not _LABEL_KEY_RE.fullmatch(name):
        problems.append(_NAME_PART_MESSAGE)
    return problems


def label_value(value: str) -> list[str]:
    """IsValidLabelValue."""
    return _length_and_pattern(value, 63, _LABEL_VALUE_RE, _LABEL_VALUE_MESSAGE)


def percent(value: str) -> list[str]:
    return [] if re.fullmatch(_PERCENT, value) else [_PERCENT_MESSAGE]
