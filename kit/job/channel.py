"""The one channel out of the graded kernel: a Unix socket the job's parent opens before any code runs.

The parent listens, accepts the first connection only (the recorder's, made at kernel start,
before any cell) and copies every line to a transcript file outside the job. ``Transcript``
reads it back: messages in order, and what is wrong with the stream itself (a gap in the
sequence, a line that is not JSON, messages after ``end``, no ``end``), which counts as
tamper evidence.
"""
import json
import os
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

MAX_BYTES = 512 * 2**20
"""A transcript larger than this stops being copied: flooding the channel is itself a problem."""
DOOR_ENV = "TL_KERNEL_DOOR"
"""The runner's environment: the socket beside the channel's through which the grader's kernel zygote forks the
job its kernel (``kit.job.kernels``); absent, the runner starts its kernel itself."""
OBSERVATIONS = {"installed", "dataset", "base", "fit_start", "fit_end", "evaluation", "outside"}
"""Kinds that rebuild ``tl_audit``'s records."""


class Listener:
    """Accepts one connection on ``path`` and copies its lines to ``transcript`` until it closes."""

    def __init__(self, path: Path, transcript: Path):
        self.path, self.transcript = Path(path), Path(transcript)
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(self.path))
        os.chmod(self.path, 0o777)  # the sandbox may map the job to another user
        self.server.listen(1)
        self.overflow = False
        self.thread = threading.Thread(target=self._copy, daemon=True)
        self.thread.start()

    def _copy(self):
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        finally:
            self.server.close()  # nobody else gets in, even while the first connection lasts
        written = 0
        with conn, open(self.transcript, "wb") as out:
            while True:
                try:
                    chunk = conn.recv(1 << 20)
                except OSError:
                    break
                if not chunk:
                    break
                written += len(chunk)
                if written > MAX_BYTES:
                    self.overflow = True
                    break
                out.write(chunk)

    def close(self, wait_s: float = 10) -> None:
        """After the job's processes are gone: let the copy finish, then stop listening."""
        try:
            self.server.close()
        except OSError:
            pass
        self.thread.join(wait_s)
        if not self.transcript.exists():
            self.transcript.write_bytes(b"")
        if self.overflow:
            with open(self.transcript, "ab") as out:
                out.write(b'\n{"overflow": true}\n')


@dataclass
class Transcript:
    """What the kernel reported, in order."""

    messages: list = field(default_factory=list)
    """[(kind, data)] in sequence order, up to the first ``end``."""
    problems: list = field(default_factory=list)
    """What is wrong with the stream itself, in Spanish (each becomes a finding)."""

    @classmethod
    def read(cls, path: Path) -> "Transcript":
        t = cls()
        expected, ended, started = 1, False, False
        for raw in Path(path).read_bytes().split(b"\n"):
            if not raw.strip():
                continue
            try:
                message = json.loads(raw)
            except ValueError:
                message = None
            if isinstance(message, dict) and message.get("overflow"):
                t.problem("el cuaderno inundó el canal de observación (más de 512 MB)")
                break
            try:
                seq, kind, data = message["seq"], message["kind"], message["data"]
            except (KeyError, TypeError):
                t.problem("una línea del canal de observación no la escribió el registro")
                continue  # the rest is still judged; the row is flagged all the same
            if seq != expected:  # not the recorder's next line: reported, and never applied
                t.problem(f"el canal de observación recibió un mensaje fuera de secuencia ({seq}, se esperaba {expected})")
                continue
            expected += 1
            if ended:
                t.problem(f"el canal de observación siguió tras el final ({kind})")
                continue
            started = started or kind == "hello"
            if kind == "end":
                ended = True
                continue
            t.messages.append((kind, data))
        if not started:
            t.problem("el registro de la calificación no llegó a empezar")
        elif not ended:
            t.problem("el canal de observación se cerró antes de acabar el cuaderno")
        return t

    def problem(self, text: str) -> None:
        """Each kind of problem once, first occurrence first."""
        if not any(p.split(" (")[0].split(" del mensaje")[0] == text.split(" (")[0].split(" del mensaje")[0]
                   for p in self.problems):
            self.problems.append(text)

    def of(self, kind: str) -> list:
        """[(position, data)] of every message of ``kind``."""
        return [(i, data) for i, (k, data) in enumerate(self.messages) if k == kind]

    def last(self, kind: str, where=lambda data: True):
        """(position, data) of the last message of ``kind`` that satisfies ``where``, or None."""
        found = [(i, d) for i, d in self.of(kind) if where(d)]
        return found[-1] if found else None

    def before(self, position: int) -> list:
        """The observations that rebuild the records, up to ``position``."""
        return [(k, d) for k, d in self.messages[:position] if k in OBSERVATIONS]
