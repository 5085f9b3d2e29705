"""The transfer-learning lab kit: python -m kit [VERB] [options]

A class, step by step (python -m kit VERB --help for each verb's options; the README and docs/ for the rest):

    python -m kit                                   # try it: a demo class of five, graded into demo/
    python -m kit build                             # after editing assignment/: the student template and autograder
    python -m kit grade SUBMISSIONS --out grades    # grade your class: grades, feedback, gradebook, report
    python -m kit review --out grades               # grade the discussion and the flagged rows in the browser
    python -m kit lms moodle --worksheet FILE --out grades     # publish in Moodle (or: lms canvas ...)
"""
import importlib
import sys

VERBS = {
    "demo": ("kit.demo", "regenerate, grade a demo class into demo/, show where everything is (the default)"),
    "grade": ("kit.grade", "grade a folder of submissions and finish the class"),
    "build": ("kit.build", "regenerate the student template, autograder and solution from the master"),
    "variants": ("kit.variants", "rewrite the reference submissions in submissions/"),
    "scheduler": ("kit.scheduler", "the Dask scheduler of a grading cluster, with the kit importable"),
    "worker": ("kit.worker", "a Dask worker that grades this kit's jobs (python -m kit worker tcp://HOST:8786)"),
    "review": ("kit.classwork.review", "grade the discussion and review flagged rows in the browser"),
    "lms": ("kit.lms.cli", "fill Moodle's grading worksheet or Canvas' gradebook from a graded class"),
    "gradescope": ("kit.gradescope", "write a Gradescope autograder zip in another grading mode"),
    "realrun": ("kit.realrun", "run the lab's two phases at full size and measure them"),
    "sample": ("kit.sample", "re-derive the shipped CIFAR-10 sample"),
}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__.strip() + "\n\nEvery verb:\n" + "\n".join(f"  {v:<11} {h}" for v, (_, h) in VERBS.items()))
        return 0
    verb = argv.pop(0) if argv and not argv[0].startswith("-") else "demo"
    if verb not in VERBS:
        print(f"python -m kit: unknown verb {verb!r}; one of: {', '.join(VERBS)}", file=sys.stderr)
        return 2
    return importlib.import_module(VERBS[verb][0]).main(argv)


if __name__ == "__main__":
    sys.exit(main())
