"""The event-to-kill latency distribution as an SVG picture: two cumulative curves.

Plain SVG written here, so `make bench` needs no plotting library: for each series, the
share of alerts (y) handled within a time (x), with its p50 and p99 in the legend.
"""

from xml.sax.saxutils import escape

from localdev.local_stack.bench_latency import percentile

WIDTH, HEIGHT = 720, 420
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 50, 60
COLOURS = ("#d62728", "#1f77b4")  # ours, the floor
X_TICKS = 5  # divides every ceiling _nice_ceiling picks into round steps


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5 or 5 times a power of ten that is at least `value`."""
    power = 10 ** len(str(int(max(value, 1)))) / 10
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= value)


def cdf_svg(title: str, series: list[tuple[str, list[float]]]) -> str:
    """An SVG of the cumulative distribution of each named series of seconds, in ms."""
    top_ms = _nice_ceiling(max(max(samples) for _, samples in series) * 1000)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(ms: float) -> float:
        return LEFT + plot_w * ms / top_ms

    def y(share: float) -> float:
        return TOP + plot_h * (1 - share)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{WIDTH / 2}" y="24" text-anchor="middle" font-size="15">{escape(title)}</text>',
    ]
    for i in range(X_TICKS + 1):
        ms = top_ms * i / X_TICKS
        parts.append(
            f'<line x1="{x(ms):.1f}" y1="{TOP}" x2="{x(ms):.1f}" y2="{TOP + plot_h}" '
            f'stroke="#ddd"/><text x="{x(ms):.1f}" y="{TOP + plot_h + 16}" '
            f'text-anchor="middle">{ms:g}</text>'
        )
    for share in (0, 0.25, 0.5, 0.75, 1):
        parts.append(
            f'<line x1="{LEFT}" y1="{y(share):.1f}" x2="{LEFT + plot_w}" y2="{y(share):.1f}" '
            f'stroke="#ddd"/><text x="{LEFT - 6}" y="{y(share) + 4:.1f}" '
            f'text-anchor="end">{share:.0%}</text>'
        )
    parts.append(
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 18}" text-anchor="middle">'
        "milliseconds from the POST to ingest</text>"
        f'<text x="18" y="{TOP + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 18 {TOP + plot_h / 2})">alerts done within</text>'
    )
    for index, ((name, samples), colour) in enumerate(zip(series, COLOURS, strict=False)):
        ordered = sorted(samples)
        points = [f"{x(0):.1f},{y(0):.1f}"]
        for rank, seconds in enumerate(ordered, start=1):
            points.append(f"{x(seconds * 1000):.1f},{y((rank - 1) / len(ordered)):.1f}")
            points.append(f"{x(seconds * 1000):.1f},{y(rank / len(ordered)):.1f}")
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
            f'points="{" ".join(points)}"/>'
        )
        label = (
            f"{name}: p50 {percentile(samples, 50) * 1000:.1f} ms, "
            f"p99 {percentile(samples, 99) * 1000:.1f} ms"
        )
        # Bottom right, where cumulative curves leave room.
        legend_x, legend_y = LEFT + plot_w - 440, TOP + plot_h - 40 + 18 * index
        parts.append(
            f'<line x1="{legend_x}" y1="{legend_y - 4}" x2="{legend_x + 20}" '
            f'y2="{legend_y - 4}" stroke="{colour}" stroke-width="2"/>'
            f'<text x="{legend_x + 26}" y="{legend_y}">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
