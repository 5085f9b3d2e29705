"""What every verb's command line shares: help that shows each option's default and names the page of ``docs/`` that
explains the verb, and the exit codes ``python -m kit grade`` documents."""
import argparse


OK = 0
"""Every submission has its row and the class is finished."""
REFUSED = 2
"""Nothing was done: a wrong option, a folder that is not there, an --out held by another run or another class."""
RETRY = 3
"""The class is finished, but some rows are ``retry``: the grader or the cluster failed on them; the same command
grades them."""
UNFINISHED = 4
"""The run could not finish (a full disk, an --out that cannot be written, a lost scheduler before the end): every row
graded so far is kept, and the same command goes on once the cause is fixed."""
INTERRUPTED = 130
"""Ctrl-C: every row graded so far is kept; the same command grades the rest."""


class Defaults(argparse.ArgumentDefaultsHelpFormatter):
    """Each option's default after its help, where it has one worth saying (not for a switch, not None)."""

    def _get_help_string(self, action):
        if action.default in (None, False, argparse.SUPPRESS) or action.option_strings == ["-h", "--help"]:
            return action.help
        return super()._get_help_string(action)


def parser(prog: str, description: str, doc: str | None = None) -> argparse.ArgumentParser:
    """An ``ArgumentParser`` whose help shows every default and ends with the ``docs/`` page that explains it."""
    return argparse.ArgumentParser(prog=prog, description=description,
                                   epilog=f"More: docs/{doc} in the kit's checkout." if doc else None,
                                   formatter_class=Defaults)
