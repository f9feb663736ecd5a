"""Hypothesis strategies for JSON documents that reach an API server's decoder and
validation: values of every JSON type, in the places an API type declares and others."""

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st


def json_values(keys: Sequence[str]) -> st.SearchStrategy[Any]:
    """Nulls, booleans, integers, short strings, lists and objects keyed by `keys` (the
    fields of the types under test, so the decoder's type checks are reached)."""
    return st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.sampled_from(list(keys)), inner, max_size=4)
        ),
        max_leaves=12,
    )
