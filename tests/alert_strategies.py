"""Hypothesis strategies for what a sender may POST: well-formed alerts with any field
replaced by any JSON value (NaN, huge numbers and lone surrogates included), and bytes."""

import json
from typing import Any

from hypothesis import strategies as st

from localdev.local_stack.fixtures import fixture

# Any character, lone surrogates included: json.dumps writes those as \udxxx escapes.
ANY_TEXT = st.text(st.characters(codec=None), max_size=20)

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()  # NaN and infinities too: json.dumps writes them as NaN and Infinity
    | ANY_TEXT
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY_TEXT, inner, max_size=3),
    max_leaves=8,
)

SAMPLES = ["terminal_shell_in_container", "sidekick_test_event", "host_process_no_k8s"]
TOP_KEYS = ["uuid", "output", "priority", "rule", "time", "output_fields", "tags", "hostname"]
FIELD_KEYS = ["k8s.pod.name", "k8s.ns.name", "k8s.pod.uid", "proc.cmdline"]


@st.composite
def alerts(draw: st.DrawFn) -> dict[str, Any]:
    """A sample alert with up to three fields replaced, removed or added."""
    alert = fixture(draw(st.sampled_from(SAMPLES)))
    for _ in range(draw(st.integers(0, 3))):
        value = draw(JSON_VALUES)
        where = draw(st.sampled_from(["top", "field", "new"]))
        if where == "top":
            alert[draw(st.sampled_from(TOP_KEYS))] = value
        elif where == "field" and isinstance(alert.get("output_fields"), dict):
            alert["output_fields"][draw(st.sampled_from(FIELD_KEYS))] = value
        else:
            alert[draw(ANY_TEXT)] = value
    return alert


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    """One alert, a JSON array or NDJSON of them, or any bytes at all."""
    form = draw(st.sampled_from(["one", "array", "ndjson", "bytes", "text"]))
    if form == "bytes":
        return draw(st.binary(max_size=300))
    if form == "text":
        return draw(ANY_TEXT).encode("utf-8", "surrogatepass")
    items = draw(st.lists(alerts(), min_size=1, max_size=3))
    if form == "one":
        return json.dumps(items[0]).encode()
    if form == "array":
        return json.dumps(items).encode()
    return b"\n".join(json.dumps(item).encode() for item in items)
