"""The dashboard the module creates is one Cloud Monitoring accepts.

Its `dashboard_json` is rendered by Terraform itself: the expression and the locals it
needs go into a module of their own, with no provider (the Google provider cannot be
downloaded here), each reference to a resource's name standing in as a string. The JSON
is then read as the API reads it, into its own Dashboard message
(google.monitoring.dashboard.v1, whose JSON parsing refuses an unknown field, a value of
the wrong type, or an enum value the API does not have), and its tiles must lie inside
the grid without overlapping.
"""

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from google.cloud.monitoring_dashboard_v1.types import Dashboard

TERRAFORM = Path(__file__).resolve().parents[2] / "terraform"
DASHBOARD = 'resource "google_monitoring_dashboard" "responder"'
# A local's definition: its name, two spaces in, as `terraform fmt` writes it.
DEFINITION = re.compile(r"^  ([a-z_0-9]+)\s*=", re.M)
LOCAL_REFERENCE = re.compile(r"\blocal\.([a-z_0-9]+)")
RESOURCE_NAME = re.compile(r"\bgoogle_[a-z_]+\.([a-z_0-9]+)\.name\b")
ANY_RESOURCE = re.compile(r"\b(?:data\.)?google_[a-z_]+\.[a-z_0-9]+")
# Required variables, with values their validations accept.
VARIABLES = {
    "project_id": "my-security-project",
    "region": "europe-west1",
    "clusters": "{prod = {}}",
}


def _blocks(text: str, opening: str) -> Iterator[str]:
    """The bodies of the top-level blocks that open with `opening`."""
    for match in re.finditer(rf"^{re.escape(opening)} {{\n(.*?)^}}\n", text, re.M | re.S):
        yield match.group(1)


def _locals() -> dict[str, str]:
    """Every local of the module: name -> its definition, as written."""
    found: dict[str, str] = {}
    for path in sorted(TERRAFORM.glob("*.tf")):
        for body in _blocks(path.read_text(), "locals"):
            starts = list(DEFINITION.finditer(body))
            for here, after in zip(starts, [*starts[1:], None], strict=True):
                end = after.start() if after else len(body)
                found[here.group(1)] = body[here.start() : end].rstrip() + "\n"
    return found


def _dashboard_expression() -> str:
    text = (TERRAFORM / "monitoring.tf").read_text()
    body = text[text.index(DASHBOARD) :]
    start = body.index("jsonencode(")
    return body[start : body.index("\n  })\n", start) + len("\n  })")]


def _needed(expression: str, definitions: dict[str, str]) -> list[str]:
    """The locals `expression` needs, directly or through other locals."""
    needed: list[str] = []
    pending = LOCAL_REFERENCE.findall(expression)
    while pending:
        name = pending.pop()
        if name not in needed:
            needed.append(name)
            pending += LOCAL_REFERENCE.findall(definitions[name])
    return needed


def _stand_ins(text: str) -> str:
    """A resource's name as a plain string; any other reference to a resource fails."""
    replaced = RESOURCE_NAME.sub(lambda m: f'"stand-in-{m.group(1)}"', text)
    left = ANY_RESOURCE.findall(replaced)
    assert not left, f"the dashboard needs resource attributes other than names: {left}"
    return replaced


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict:
    terraform = shutil.which("terraform")
    assert terraform, "terraform is not installed"
    folder = tmp_path_factory.mktemp("dashboard")
    definitions = _locals()
    expression = _dashboard_expression()
    needed = _needed(expression, definitions)
    shutil.copy(TERRAFORM / "variables.tf", folder / "variables.tf")
    (folder / "main.tf").write_text(
        "locals {\n"
        + "".join(_stand_ins(definitions[name]) for name in needed)
        + "}\n\n"
        + f'output "dashboard" {{\n  value = {_stand_ins(expression)}\n}}\n'
    )
    arguments = [f"-var={name}={value}" for name, value in VARIABLES.items()]
    for command in (
        ["init", "-input=false", "-no-color"],
        ["apply", "-auto-approve", "-input=false", "-no-color", *arguments],
    ):
        done = subprocess.run(
            [terraform, f"-chdir={folder}", *command], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
    output = subprocess.run(
        [terraform, f"-chdir={folder}", "output", "-raw", "dashboard"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(output.stdout)


def test_the_api_reads_the_dashboard_as_written(rendered):
    dashboard = Dashboard.from_json(json.dumps(rendered))
    assert dashboard.display_name == "falco-responder (falco)"  # name_prefix by default
    charts = [tile.widget.xy_chart for tile in dashboard.mosaic_layout.tiles]
    assert len(charts) == len(rendered["mosaicLayout"]["tiles"]) >= 6
    for chart in charts:
        for data_set in chart.data_sets:
            query = data_set.time_series_query.time_series_filter
            assert query.filter.startswith('metric.type="'), query.filter


def test_the_tiles_lie_inside_the_grid_without_overlapping(rendered):
    layout = rendered["mosaicLayout"]
    taken: dict[tuple[int, int], str] = {}
    for tile in layout["tiles"]:
        x, y = tile.get("xPos", 0), tile.get("yPos", 0)
        assert x + tile["width"] <= layout["columns"], tile["widget"]["title"]
        for cell in ((x + i, y + j) for i in range(tile["width"]) for j in range(tile["height"])):
            assert cell not in taken, (tile["widget"]["title"], taken[cell])
            taken[cell] = tile["widget"]["title"]


def test_a_field_the_api_does_not_have_is_refused():
    # The check above can fail: a misspelt field or enum value is refused, as by the API.
    with pytest.raises(Exception, match="no field named"):
        Dashboard.from_json(json.dumps({"displayName": "x", "mosaicLayot": {}}))
    with pytest.raises(Exception, match="plotType"):
        Dashboard.from_json(
            json.dumps(
                {
                    "mosaicLayout": {
                        "tiles": [{"widget": {"xyChart": {"dataSets": [{"plotType": "LINES"}]}}}]
                    }
                }
            )
        )
