"""Query parameters as the API server's parameter codec decodes them into ListOptions,
PodLogOptions and DeleteOptions (k8s.io/apimachinery/pkg/runtime/conversion.go:
Convert_Slice_string_To_string, Convert_Slice_string_To_int64): of a repeated parameter
the first value counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .status import bad_request


def first(query: Mapping[str, Sequence[str]], name: str) -> str | None:
    """The parameter's value, or None when absent."""
    values = query.get(name)
    return values[0] if values else None


def integer(query: Mapping[str, Sequence[str]], name: str) -> int | None:
    """An integer parameter (strconv.ParseInt); a 400 naming the text when it is none."""
    raw = first(query, name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise bad_request(f'strconv.ParseInt: parsing "{raw}": invalid syntax') from None
