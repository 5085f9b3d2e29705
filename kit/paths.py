"""Where each workflow stage lives in the repository."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = ROOT / "assignment"
MASTER = ASSIGNMENT / "transfer_learning_lab.ipynb"
SAMPLE_PATH = ASSIGNMENT / "tl_cifar10_sample.npz"
STUDENT = ROOT / "student_template"
AUTOGRADER = ROOT / "autograder"
AUTOGRADER_ZIP = AUTOGRADER / "autograder.zip"
SOLUTION = ROOT / "solution"
SUBMISSIONS = ROOT / "submissions"
EXPECTED_GRADES = SUBMISSIONS / "expected_grades.csv"
DEFAULT_OUT = Path("grades")  # every command's --out: relative to where it runs, like otter's own outputs
