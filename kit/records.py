"""The records that travel between grading, feedback, the gradebook and the report."""
import enum
from dataclasses import asdict, dataclass, field


class Status(str, enum.Enum):
    """How grading one submission ended. A ``str``, so it reads and writes as plain text in CSV and JSON."""

    OK = "ok"
    """Graded: the points are Otter's."""
    ERROR = "error"
    """Nothing could be graded (not a notebook, another assignment, Otter failed): 0 points."""
    TIMEOUT = "timeout"
    """Stopped past the time limit: 0 points."""
    MEMORY = "memory"
    """Stopped past the resident-memory limit of its process tree: 0 points."""
    DISK = "disk"
    """Stopped when its files (the job folder, its ``/tmp``) passed their cap: 0 points."""
    RETRY = "retry"
    """The grader or the cluster failed, not the notebook (a worker that cannot import the kit or runs another
    version of it, a lost connection, a grading machine without bubblewrap): no points, never published, graded
    again on the next run."""
    FLAGGED = "flagged"
    """Graded, but its code reaches into the grading machinery (read before it ran, or seen while it ran):
    the points are held for the instructor's review."""

    def __str__(self) -> str:
        return self.value


@dataclass
class Row:
    """One submission's line of ``grades.csv``."""

    submission: str
    """The file's name in the submissions folder (``ana.ipynb`` and ``ana.zip`` are two rows)."""
    status: Status = Status.OK
    """How grading ended."""
    score: float = 0.0
    """Automatic points earned."""
    max_score: float = 0.0
    """Automatic points possible."""
    questions: dict = field(default_factory=dict)
    """{question: points earned}, every automatic question present (0 where nothing was graded)."""
    seconds: float = 0.0
    """Wall time of the grading job."""
    peak_mb: float = 0.0
    """Peak resident memory of the job's whole process tree."""
    message: str = ""
    """For a row that is not ``ok``: what happened, for the instructor."""
    key: str = ""
    """Hash of the submission and the autograder it was graded with: an unchanged pair is not regraded."""
    unjudged: list = field(default_factory=list)
    """Checks the grader could not run (``question: check (why)``): failed, never passed, and the row is graded
    again on the next run (its ``key`` is left empty)."""

    def to_dict(self) -> dict:
        return {**asdict(self), "status": self.status.value}

    @classmethod
    def from_dict(cls, data: dict) -> "Row":
        return cls(**{**data, "status": Status(data["status"])})


@dataclass
class Case:
    """One test case of one question, as the graded run judged it."""

    question: str
    """The question (test file) it belongs to, e.g. ``q4_ajuste_fino``."""
    name: str
    """The test function, named after what it checks."""
    hidden: bool
    """Hidden tests are graded but never shown to students with their message."""
    passed: bool
    """Whether it passed."""
    points: float
    """Points it is worth."""
    message: str = ""
    """Otter's message for a failure (the check's Spanish explanation)."""
    title: str = ""
    """Its human Spanish title, the test function's docstring in the master."""
