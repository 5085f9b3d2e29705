"""Otter's grading run in the folder above this file's (``/autograder`` on Gradescope).

Otter's own ``run_otter.py`` names ``/autograder``; deriving it keeps the zip runnable, and
testable, wherever it is unpacked.
"""
from pathlib import Path

from otter.run.run_autograder import main as run_autograder

if __name__ == "__main__":
    run_autograder(str(Path(__file__).resolve().parent.parent))
