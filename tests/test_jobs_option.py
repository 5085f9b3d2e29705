"""--jobs: a number, or 'auto' (one more than the cores, as far as free memory holds each job's limit)."""
import argparse

import pytest

from kit import executors, grade


def test_auto_runs_one_more_job_than_the_cores_when_memory_allows():
    assert executors.local_slots(4096, cores=2, available_mb=22_000) == 3


def test_auto_runs_no_more_jobs_than_free_memory_holds_at_each_limit():
    assert executors.local_slots(4096, cores=16, available_mb=10_000) == 2


def test_auto_runs_one_job_even_when_memory_is_short():
    assert executors.local_slots(4096, cores=2, available_mb=1_000) == 1


def test_a_number_is_taken_as_given():
    assert executors.resolved(executors.jobs_option("5"), 4096) == 5


@pytest.mark.parametrize("text", ["0", "-1", "many", "2.5"])
def test_anything_else_is_refused(text):
    with pytest.raises(argparse.ArgumentTypeError):
        executors.jobs_option(text)


def test_the_command_line_defaults_to_auto():
    assert grade.parser().parse_args(["subs"]).jobs == executors.AUTO


def test_the_command_line_refuses_zero_jobs(capsys):
    with pytest.raises(SystemExit) as stop:
        grade.parser().parse_args(["subs", "--jobs", "0"])
    assert stop.value.code == 2 and "at least 1" in capsys.readouterr().err
