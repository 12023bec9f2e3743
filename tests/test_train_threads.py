"""How many threads a CPU training loop takes: the cores other processes leave idle now, sampled from /proc/stat."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from evalrun.models import train

CPUS = os.sched_getaffinity(0)


def test_busy_cores_add_up_each_cpus_share_of_non_idle_ticks():
    before = {0: (1000, 500), 1: (1000, 900), 2: (1000, 0)}
    after = {0: (1100, 500), 1: (1100, 1000), 2: (1100, 50)}  # cpu 0 all busy, cpu 1 all idle, cpu 2 half
    assert train.busy_between(before, after) == pytest.approx(1.5)


def test_cpu_times_cover_only_the_cpus_asked_for():
    one = min(CPUS)
    times = train._cpu_times({one})
    assert set(times) == {one}
    total, idle = times[one]
    assert 0 <= idle <= total


@pytest.fixture
def one_busy_core():
    """A process spinning on one of this process's cores, for as long as the test runs."""
    core = max(CPUS)
    code = f"import os; os.sched_setaffinity(0, {{{core}}}); print('spinning', flush=True)\nwhile True: pass"
    spin = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert spin.stdout.readline() == "spinning\n"  # busy from here on, not still starting
        yield core
    finally:
        spin.kill()
        spin.wait()


def test_a_core_another_process_keeps_busy_is_counted_and_left_to_it(one_busy_core, monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert train.busy_cores({one_busy_core}) > 0.75
    assert train.busy_cores(CPUS) > 0.75
    assert train.train_threads() <= max(1, len(CPUS) - 1)


def test_without_proc_stat_the_load_average_less_this_process_stands_in(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3})

    def unreadable(cpus):
        raise OSError("no /proc/stat")

    monkeypatch.setattr(train, "_cpu_times", unreadable)
    import torch

    monkeypatch.setattr(torch, "get_num_threads", lambda: 4)
    monkeypatch.setattr(os, "getloadavg", lambda: (3.0, 3.0, 3.0))  # this process and two others
    assert train.train_threads() == 2
    monkeypatch.setattr(os, "getloadavg", lambda: (0.9, 0.9, 0.9))
    assert train.train_threads() == 4


def test_omp_num_threads_overrides_the_sample(monkeypatch):
    import torch

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    monkeypatch.setattr(train, "busy_cores", lambda cpus: pytest.fail("sampled despite OMP_NUM_THREADS"))
    assert train.train_threads() == 1
