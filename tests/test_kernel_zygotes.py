"""How many kernel zygotes a grading process keeps (``kit.job.kernels``): one per environment that changes how the
libraries load, none more for a variable that only names the job or the test, at most ``KEEP`` at once, and never
closed while a job's door is open on it. The zygote process is a stand-in here; the doors are real sockets."""
import pytest

from kit.job import kernels


class StandIn:
    """Records what the pool does to it instead of importing TensorFlow."""

    def __init__(self, env):
        self.env, self.users, self.ready, self.closed = env, 0, True, False

    def running(self):
        return not self.closed

    def close(self):
        self.closed = True


@pytest.fixture
def started(monkeypatch):
    made = []
    monkeypatch.setattr(kernels, "Zygote", lambda env: made.append(StandIn(env)) or made[-1])
    monkeypatch.setattr(kernels, "_zygotes", {})
    monkeypatch.delenv(kernels.SWITCH, raising=False)
    return made


def _door(tmp_path, **env):
    return kernels.open_door(tmp_path / f"door-{len(list(tmp_path.iterdir()))}.sock", env)


def test_a_variable_that_only_names_the_job_or_the_test_starts_no_new_zygote(started, tmp_path):
    _door(tmp_path, OMP_NUM_THREADS="1", PYTEST_CURRENT_TEST="a (call)", TMPDIR="/job/a").close()
    _door(tmp_path, OMP_NUM_THREADS="1", PYTEST_CURRENT_TEST="b (call)", TMPDIR="/job/b").close()
    assert len(started) == 1


def test_another_thread_setting_gets_its_own_zygote(started, tmp_path):
    _door(tmp_path, OMP_NUM_THREADS="1").close()
    _door(tmp_path, OMP_NUM_THREADS="2").close()
    assert [z.env["OMP_NUM_THREADS"] for z in started] == ["1", "2"] and kernels.live() == 2


def test_past_keep_the_least_recently_used_idle_zygote_is_closed(started, tmp_path):
    for threads in ("1", "2", "1", "3"):  # "2" is now the least recently used
        _door(tmp_path, OMP_NUM_THREADS=threads).close()
    assert [(z.env["OMP_NUM_THREADS"], z.closed) for z in started] == [("1", False), ("2", True), ("3", False)]
    assert kernels.live() == kernels.KEEP == 2


def test_a_zygote_a_job_still_uses_is_never_closed(started, tmp_path):
    in_use = _door(tmp_path, OMP_NUM_THREADS="1")
    for threads in ("2", "3"):
        _door(tmp_path, OMP_NUM_THREADS=threads).close()
    assert [(z.env["OMP_NUM_THREADS"], z.closed) for z in started] == [("1", False), ("2", True), ("3", False)]
    in_use.close()
    assert started[0].users == 0
