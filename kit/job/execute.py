"""Run one submitted notebook in a fresh kernel that reports to the job's parent; decide nothing.

    python -m kit.job.execute NOTEBOOK CHANNEL OUT

Runs inside the job (the sandbox, or Gradescope's container) with the lab's public files
beside NOTEBOOK. The kernel starts ``kit.job.recorder`` before any cell (an IPython
``exec_lines``), so every observation reaches the parent through CHANNEL as it happens. Cells
run top to bottom with errors allowed, as Otter runs them; ``otter_ignore`` cells are left out.
Afterwards OUT receives ``figure-N.png`` (the images the run displayed), for the feedback page
only: nothing written here counts for a grade.
"""
import json
import os
import sys
from pathlib import Path

if __package__ in (None, ""):  # run by path: the kit is importable, not inherited by the kernel
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from kit.job import outputs  # noqa: E402
from kit.job.channel import DOOR_ENV  # noqa: E402

KIT_ROOT = Path(__file__).resolve().parents[2]
IGNORE_TAG = "otter_ignore"
FINISH = 'import sys as _tl_sys\n_tl_sys.modules["kit.job.recorder"].finish()'


def graded_cells(nb):
    nb.cells = [c for c in nb.cells if IGNORE_TAG not in c.get("metadata", {}).get("tags", [])
                and not c.get("metadata", {}).get("otter", {}).get("ignore", False)]
    return nb


def start_lines(channel: Path, workdir: Path) -> str:
    protected = [str(p) for p in workdir.iterdir()] + [str(workdir / "tests"), str(channel.parent)]
    protected += json.loads(os.environ.get("TL_PROTECTED", "[]"))  # e.g. Gradescope's autograder folder
    return (f"import sys; sys.path.insert(0, {str(KIT_ROOT)!r}); from kit.job import recorder; "
            f"sys.path.remove({str(KIT_ROOT)!r}); "
            f"recorder.start({str(channel)!r}, {str(workdir)!r}, {json.dumps(protected)})")


def main(argv=None) -> int:
    import nbformat
    from nbclient import NotebookClient

    notebook, channel, out = (Path(a).resolve() for a in (argv if argv is not None else sys.argv[1:]))
    workdir = notebook.parent
    nb = graded_cells(nbformat.read(notebook, as_version=4))
    nb.cells.append(nbformat.v4.new_code_cell(FINISH))
    nb.metadata.setdefault("kernelspec", {})["name"] = "python3"
    from kit.job.door import DoorKernelManager

    DoorKernelManager.door = os.environ.pop(DOOR_ENV, "")  # the grader's zygote, if any; not in the kernel's env
    client = NotebookClient(nb, timeout=None, allow_errors=True, kernel_name="python3",
                            kernel_manager_class=DoorKernelManager,
                            resources={"metadata": {"path": str(workdir)}},
                            extra_arguments=[f"--IPKernelApp.exec_lines={json.dumps([start_lines(channel, workdir)])}"])
    try:
        client.execute()
    except Exception as exc:  # a dead kernel: the parent sees the channel end without ``end``
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
    outputs.write_figures(nb, out)
    outputs.write_run(nb, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
