"""The kit's one progress printer: a tqdm bar with an ETA over the submissions being graded."""
from tqdm import tqdm


class Bar:
    """``start(n)`` once the number to grade is known, ``advance(row)`` as each one ends."""

    def __init__(self, **options):
        self._bar = None
        self._options = {"unit": "submission", "dynamic_ncols": True, **options}

    def start(self, total: int) -> None:
        if total == 0:
            print("Nothing new to grade: earlier results are reused (--force regrades everything).")
            return
        self._bar = tqdm(total=total, desc="Grading", **self._options)

    def advance(self, row) -> None:
        if self._bar is not None:
            self._bar.set_postfix_str(f"{row.status.value} {row.score:g} {row.submission}"[:60], refresh=False)
            self._bar.update(1)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.close()
