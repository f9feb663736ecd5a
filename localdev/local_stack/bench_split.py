"""Where a missed goal's remainder lies, measured in the same run as the goal's figure.

- CPU per alert: the responder's is the empty handler's (functions-framework, Flask, the
  CloudEvent), plus the calls one delete needs made bare through the same client
  libraries by a handler of their own on the responder's threads (bare_calls_handler.py),
  plus our own code. No code that makes those calls goes below the first two.
- First action from cold: the empty handler's start, plus importing the libraries the
  responder needs beyond functions-framework, plus ours.
- Event to kill: the part of each alert's time that the Kubernetes API emulator spent
  answering the responder's calls, which on GKE a real API server spends.
- Burst: the same burst to the bare-calls handler, which makes the same calls with no code
  of ours, beside the empty handler's: the best ratio any code making those calls reaches.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Split:
    """A figure (`total`) as its floor's part, the libraries' part, and ours: the rest."""

    total: float
    floor: float
    libraries: float

    @property
    def ours(self) -> float:
        """What is left for our own code."""
        return self.total - self.floor - self.libraries

    @property
    def least_ratio(self) -> float:
        """The ratio to the floor with no code of ours at all: the floor and the libraries."""
        return (self.floor + self.libraries) / self.floor

    def text(self, floor: str, libraries: str, unit: str, scale: float = 1) -> str:
        """`floor 0.9 + libraries 1.2 + ours 0.5 ms`, each part named."""
        parts = ((floor, self.floor), (libraries, self.libraries), ("ours", self.ours))
        return " + ".join(f"{name} {value * scale:.2f}" for name, value in parts) + f" {unit}"


def room_for_ours(least_ratio: float, floor: float, goal: float, unit: str) -> str:
    """What a goal of `goal` times the floor leaves for our own code, when the floor and
    the libraries alone are `least_ratio` times the floor: nothing, or how much."""
    if least_ratio >= goal:
        return f"the libraries alone reach the goal ({goal}x): no room for any code of ours"
    return f"the goal ({goal}x) leaves our code {(goal - least_ratio) * floor:.2f} {unit}"


def room_above_floor(least_ratio: float, goal: float) -> str:
    """For a goal of at least `goal` times the floor's rate: whether the bare calls, with no
    code of ours, already fall below it (`least_ratio`, their own rate to the floor's)."""
    if least_ratio < goal:
        return f"the libraries alone miss the goal ({goal}): no room for any code of ours"
    return f"the libraries alone meet the goal ({goal}): what ours adds decides"
