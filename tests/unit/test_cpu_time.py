import os
import threading
import time
from pathlib import Path

from localdev.local_stack.cpu_time import CpuReading, read_cpu, this_process


def _spin(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_a_difference_is_the_threads_nanoseconds_when_every_thread_lived_through():
    before = CpuReading({"1/1": 1_000, "1/2": 5_000}, ticks_seconds=0.0)
    after = CpuReading({"1/1": 2_000_001_000, "1/2": 5_000, "1/3": 500_000_000}, 0.01)
    # A thread that started meanwhile counts from zero; the ticks (10 ms) are not used.
    assert after - before == 2.5


def test_a_thread_that_ended_meanwhile_leaves_only_the_ticks_to_count_its_time():
    before = CpuReading({"1/1": 0, "1/2": 0}, ticks_seconds=1.0)
    after = CpuReading({"1/1": 10_000_000}, ticks_seconds=1.5)
    assert after - before == 0.5


def test_a_reading_of_this_process_sees_a_live_thread_spin():
    own = [Path(f"/proc/{os.getpid()}")]
    spun, stop = threading.Event(), threading.Event()

    def spin() -> None:
        _spin(0.05)
        spun.set()
        while not stop.is_set():
            pass

    before = read_cpu(own)
    worker = threading.Thread(target=spin)
    worker.start()
    try:
        assert spun.wait(timeout=30)
        during = read_cpu(own)  # while the thread lives: the difference is the threads'
    finally:
        stop.set()
        worker.join()
    assert before.threads.keys() < during.threads.keys()
    assert during - before >= 0.05


def test_a_process_that_has_ended_is_left_out():
    missing = Path("/proc/0-no-such-process")
    assert read_cpu([missing]) == CpuReading({}, 0.0)


def test_this_process_reads_its_own_exact_clock():
    before = this_process()
    _spin(0.03)
    assert 0.03 <= this_process() - before < 1
