"""The CPU time a group of processes used between two readings, to the nanosecond.

/proc/<pid>/stat counts in clock ticks (10 ms on Linux as configured here): over a burst
of 150 alerts that is up to 0.13 ms per alert per process, as large as the differences
the bench measures. The scheduler's own count per thread
(/proc/<pid>/task/<tid>/schedstat, in nanoseconds) is exact, but forgets a thread once
it ends; so a reading keeps both, and a difference is the threads' unless one of them
ended in between, when only the ticks still count its time.
"""

import os
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CpuReading:
    """CPU used so far: per thread (`pid/tid`), in nanoseconds, and by the processes as a
    whole, in seconds counted by clock ticks (threads that ended included)."""

    threads: dict[str, int]
    ticks_seconds: float

    def __sub__(self, before: "CpuReading") -> float:
        """Seconds of CPU used since `before`."""
        if before.threads.keys() <= self.threads.keys():
            used = sum(ns - before.threads.get(t, 0) for t, ns in self.threads.items())
            return used / 1e9
        return self.ticks_seconds - before.ticks_seconds  # a thread ended meanwhile


def read_cpu(processes: list[Path]) -> CpuReading:
    """A reading of the /proc entries `processes`; one that ends while read counts as
    ended (its threads are missing from the reading)."""
    ticks = os.sysconf("SC_CLK_TCK")
    threads: dict[str, int] = {}
    ticks_seconds = 0.0
    for process in processes:
        try:
            fields = (process / "stat").read_text().rsplit(")", 1)[1].split()
            tasks = list((process / "task").iterdir())
        except OSError:
            continue
        ticks_seconds += (int(fields[11]) + int(fields[12])) / ticks
        for task in tasks:
            try:
                ns = int((task / "schedstat").read_text().split()[0])
            except OSError:
                continue
            threads[f"{process.name}/{task.name}"] = ns
    return CpuReading(threads, ticks_seconds)


def this_process() -> CpuReading:
    """This process's CPU so far, by its own exact clock (threads that ended included)."""
    used = time.process_time_ns()
    return CpuReading({"this process": used}, used / 1e9)
