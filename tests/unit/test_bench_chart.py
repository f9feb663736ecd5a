import xml.etree.ElementTree as ET

import pytest

from localdev.local_stack.bench_chart import _nice_ceiling, cdf_svg
from localdev.local_stack.bench_latency import percentile

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("value", "ceiling"), [(0.4, 1), (1, 1), (3, 5), (37, 50), (100, 100), (180, 200), (240, 250)]
)
def test_the_axis_ends_at_a_round_number_at_least_the_largest_sample(value, ceiling):
    assert _nice_ceiling(value) == ceiling


def test_percentiles_interpolate_between_samples():
    samples = [i / 100 for i in range(1, 101)]  # 0.01 .. 1.00
    assert percentile(samples, 50) == pytest.approx(0.505)
    assert percentile(samples, 99) == pytest.approx(0.9901)


def test_the_picture_draws_one_cumulative_curve_per_series_with_its_figures():
    ours = [0.030, 0.031, 0.032, 0.090]
    floor = [0.010, 0.011, 0.012, 0.013]
    svg = cdf_svg("Event <to> kill", [("ours", ours), ("floor", floor)])
    root = ET.fromstring(svg)  # noqa: S314 (our own output)
    curves = root.findall(f"{SVG}polyline")
    assert len(curves) == 2
    # Each curve starts at 0 ms and 0 %, then climbs a step per sample, ending at 100 %.
    first = [tuple(map(float, p.split(","))) for p in curves[0].get("points").split()]
    assert len(first) == 1 + 2 * len(ours)
    assert first[-1][1] < first[0][1]  # SVG's y grows downwards
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Event <to> kill" in texts
    assert any(t.startswith("ours: p50 31.5 ms, p99") for t in texts)
    assert any(t.startswith("floor: p50 11.5 ms") for t in texts)
