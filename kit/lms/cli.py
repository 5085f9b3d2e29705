"""python -m kit lms moodle|canvas: fill the LMS's own grade file from a graded class (``--out``).

    python -m kit lms moodle --worksheet GRADING_WORKSHEET.csv --out grades
    python -m kit lms canvas --gradebook GRADEBOOK_EXPORT.csv --assignment "Transfer learning" --out grades

The LMS file given is read, never written: the result goes to ``OUT/lms/``. Nothing is written while a matched
submission is flagged and not accepted, or misses a manual grade, unless ``--allow-incomplete`` is given.
"""
import argparse
import sys
from pathlib import Path

from kit import cli, layout, paths
from kit.lms import canvas, moodle, release, sheet


def parser() -> argparse.ArgumentParser:
    p = cli.parser("python -m kit lms", __doc__.splitlines()[0], "lms.md")
    systems = p.add_subparsers(dest="system", required=True)
    m = systems.add_parser("moodle", help="fill Moodle's offline grading worksheet and write a feedback-files zip",
                           formatter_class=cli.Defaults)
    m.add_argument("--worksheet", type=Path, required=True,
                   help="the CSV from the assignment's 'Download grading worksheet' (read, never changed)")
    c = systems.add_parser("canvas", help="fill one assignment's column of Canvas' gradebook export",
                           formatter_class=cli.Defaults)
    c.add_argument("--gradebook", type=Path, required=True,
                   help="the CSV from the Gradebook's 'Export' (read, never changed)")
    c.add_argument("--assignment", required=True, help="the assignment's title as the gradebook's header has it")
    for s in (m, c):
        s.add_argument("--out", type=Path, default=paths.DEFAULT_OUT,
                       help="the folder 'python -m kit grade' wrote; the results go to OUT/lms/")
        s.add_argument("--student-pattern", default=None,
                       help="regular expression with a group 'id' (and optionally 'order') that finds the LMS id in "
                            "a submission's file name, when the files were not named by the LMS's download")
        s.add_argument("--mapping", type=Path, default=None,
                       help="CSV with columns 'submission' and 'id': the LMS id of each submission, by hand")
        s.add_argument("--use", action="append", default=[], metavar="SUBMISSION",
                       help="of a student's several submissions, publish this one (repeatable)")
        s.add_argument("--submissions", type=Path, default=None,
                       help="the graded folder: its files' times (as unzipped from Moodle's download) choose the "
                            "latest of a student's several submissions")
        s.add_argument("--allow-incomplete", action="store_true",
                       help="publish the complete rows even while others are flagged or miss manual grades "
                            "(those keep their LMS cells as they are)")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    given = args.worksheet if args.system == "moodle" else args.gradebook
    if not given.is_file():
        print(f"{given} does not exist", file=sys.stderr)
        return 2
    target = layout.lms_dir(args.out) / given.name
    if target.resolve() == given.resolve():
        print(f"{given} is already the kit's output; give the file downloaded from the LMS", file=sys.stderr)
        return 2
    grades = release.read_class(args.out)
    matches, unmatched, notes = release.match(
        grades, release.MOODLE_ID if args.system == "moodle" else release.CANVAS_ID, args.student_pattern,
        release.read_mapping(args.mapping) if args.mapping else None, set(args.use), args.submissions)
    table = sheet.read(given)
    if args.system == "moodle":
        filled, without, absent = moodle.fill(table, matches)
    else:
        filled, without, absent = canvas.fill(table, args.assignment, matches)
    present = {who: m for who, m in matches.items() if who not in absent}
    if not present:
        print(f"no participant of {given} matches a graded submission in {args.out}: is it this assignment's "
              "and this course's file? Nothing written.", file=sys.stderr)
        return 2
    for line in notes:
        print(f"note: {line}", file=sys.stderr)
    for name in unmatched:
        print(f"NOT PUBLISHED: {name}: no LMS id in its name (use --student-pattern or --mapping)", file=sys.stderr)
    for who in absent:
        print(f"NOT PUBLISHED: {matches[who].grade.submission}: participant {who} is not in {given.name}",
              file=sys.stderr)
    held = release.holding(present)
    if held and not args.allow_incomplete:
        print("Nothing written: these rows hold the release back (finish them, or give --allow-incomplete):\n  "
              + "\n  ".join(held), file=sys.stderr)
        return 1
    for line in held:
        print(f"left as it was (--allow-incomplete): {line}", file=sys.stderr)
    sheet.write(table, target)
    print(f"{len(filled)} grades written; {len(without)} students without a submission keep their empty grade")
    print(f"  {target}")
    if args.system == "moodle":
        bundle = layout.lms_dir(args.out) / "moodle_feedback_files.zip"
        moodle.feedback_zip(bundle, table, filled, layout.feedback_dir(args.out))
        print(f"  {bundle}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
