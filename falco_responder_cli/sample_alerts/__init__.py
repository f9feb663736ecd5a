"""Real Falco alerts (see README.md here), shipped for `send-test-alert` and used by the
demo, the benchmark and the tests."""

import json
from pathlib import Path
from typing import Any

SAMPLE_ALERTS = Path(__file__).parent


def sample_alert(name: str) -> dict[str, Any]:
    """A sample alert by file stem, as a fresh dict the caller may change."""
    return json.loads((SAMPLE_ALERTS / f"{name}.json").read_text())
