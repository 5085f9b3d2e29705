"""Grade the discussion and review flagged rows in the browser: ``python -m kit review --out grades``.

A local web page over a graded class: one discussion question at a time with every student's answer, the rubric's
items as buttons, the student's own run beside the answer, a queue of flagged rows; the keyboard alone is enough.
Every change is saved at once into ``manual_grades.csv`` (``kit.classwork.review.store``); "Publicar" rebuilds the
gradebook and the students' pages as ``kit grade`` does.

    store    the sheet and the item record, changed atomically, compare-and-set
    views    the class as the page shows it (JSON)
    ownrun   the student's own run, from the outputs saved in their notebook
    server   Tornado on the loopback, token-protected
"""
import argparse
import secrets
import sys
import webbrowser
from pathlib import Path

from kit import cli, layout, paths

HELP_OUT = "the --out folder of a graded class (python -m kit grade FOLDER --out OUT)"


def parser() -> argparse.ArgumentParser:
    p = cli.parser("python -m kit review", "Grade the discussion questions and review flagged submissions in the "
                   "browser; every change is saved into OUT/manual_grades.csv at once.", "review.md")
    p.add_argument("--out", type=Path, default=paths.DEFAULT_OUT, help=HELP_OUT)
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    p.add_argument("--no-browser", action="store_true", help="print the address without opening a browser")
    p.add_argument("--submissions", type=Path, default=None,
                   help="the folder that was graded (none: the folders OUT remembers from kit grade)")
    p.add_argument("--autograder", type=Path, default=None,
                   help="the autograder zip it was graded with (none: the one OUT remembers, else the kit's)")
    p.add_argument("--student-pattern", default=None,
                   help="regex with a (?P<student>...) group for students' names (none: as kit grade was told)")
    return p


def open_class(out: Path, submissions: Path | None = None, autograder: Path | None = None,
               pattern: str | None = None):
    """(the class as ``views.Class``, its publish function), or SystemExit with what is missing."""
    from kit.classwork.review import views
    from kit.classwork.review.store import Refused

    origin = layout.read_origin(out)
    submissions = [submissions] if submissions else layout.class_folders(out)
    autograder = autograder or Path(origin.get("autograder") or paths.AUTOGRADER_ZIP)
    pattern = pattern if pattern is not None else origin.get("student_pattern")
    if not (out / layout.GRADES).exists():
        raise SystemExit(f"{out / layout.GRADES} does not exist: grade the class first "
                         f"(python -m kit grade FOLDER --out {out})")
    missing = [str(f) for f in submissions if not f.is_dir()] or ([] if submissions else [f"not recorded in {out}"])
    if missing:
        raise SystemExit(f"the graded submissions folder ({', '.join(missing)}) is not there: pass --submissions "
                         "FOLDER")
    try:
        klass = views.Class(out, submissions, pattern)
    except Refused as exc:
        raise SystemExit(str(exc)) from None

    def publish() -> dict:
        """Rebuild the gradebook and the pages as ``kit grade`` does, from the rows graded now, never while a
        grading run writes the same ``--out``."""
        from kit import classwork, runlock
        from kit.job.folder import questions_of

        try:
            with runlock.held(out):
                made = classwork.finish(out, klass.graded_rows(), questions_of(autograder), submissions, pattern,
                                        origin.get("look_for_copies", True) is not False)
        except runlock.Busy as busy:
            raise Refused(f"not published: {busy.message}") from None
        return {"published": made}

    return klass, publish


def serve(klass, publish, port: int = 0, token: str | None = None):
    """Start the server on 127.0.0.1 (not yet looping); returns (its URL with the token, the Tornado server)."""
    import tornado.httpserver
    import tornado.netutil

    from kit.classwork.review.server import App

    token = token or secrets.token_urlsafe(24)
    sockets = tornado.netutil.bind_sockets(port, address="127.0.0.1")
    port = sockets[0].getsockname()[1]
    server = tornado.httpserver.HTTPServer(App(klass, token, port, publish).application())
    server.add_sockets(sockets)
    return f"http://127.0.0.1:{port}/?token={token}", server


def main(argv=None) -> int:
    import asyncio

    import gc

    args = parser().parse_args(argv)
    klass, publish = open_class(args.out, args.submissions, args.autograder, args.student_pattern)
    gc.collect()
    gc.freeze()  # the class read once is kept for the server's life: no full collection walks it again mid-save

    async def run():
        url, _ = serve(klass, publish, args.port)
        print(f"kit review: {len(klass.students)} submissions of {args.out}; open {url}", flush=True)
        print("  every change is saved at once into manual_grades.csv; Ctrl-C stops the server", flush=True)
        if not args.no_browser:
            webbrowser.open(url)
        await asyncio.Event().wait()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        print("kit review: stopped; every change was already saved", file=sys.stderr)
        return 130
    return 0
