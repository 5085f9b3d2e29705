"""The kit's main job: regenerate the autograder from the master, then grade the reference submissions.

    python -m kit [--jobs 2] [--no-run-tests]

Prints the score table beside the expected one and exits non-zero if any differs.
"""
import argparse
import sys
import time
from pathlib import Path

from kit import build, grade, paths


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--no-run-tests", action="store_true", help="skip otter assign's solution check")
    parser.add_argument("--out", type=Path, default=paths.ROOT / "grades")
    args = parser.parse_args(argv)

    start = time.monotonic()
    print("1/2 otter assign: master -> student_template/, autograder/, solution/", flush=True)
    build.build(paths.ROOT, run_tests=not args.no_run_tests)
    print(f"2/2 grading {paths.SUBMISSIONS.name}/ with autograder/autograder.zip ({args.jobs} at a time)", flush=True)
    rows = grade.grade_all(paths.SUBMISSIONS, paths.AUTOGRADER_ZIP, args.out, jobs=args.jobs,
                           progress=lambda r: print(f"  {r.status:<7} {r.score:>5g}  {r.submission}", flush=True))
    questions = grade.questions_of(paths.AUTOGRADER_ZIP)
    print("\n" + grade.table(rows, questions))

    expected = grade.load_expected()
    wrong = [r.submission for r in rows if grade.differs(r, expected.get(r.submission), questions)]
    print(f"\n{len(rows)} submissions in {time.monotonic() - start:.0f} s -> {args.out / 'grades.csv'}")
    if wrong:
        print("Differ from submissions/expected_grades.csv: " + ", ".join(wrong))
        return 1
    print("All grades match submissions/expected_grades.csv.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
