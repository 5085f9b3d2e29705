"""Copied work, flagged across a class for the grader to decide: the same run, the same account, the same words.

In a template lab nearly every student writes the same code, so code says little. What tells a copied submission
apart is already inside each notebook, in the outputs saved with it and in its metadata (nothing is executed):

* **the same run**: the full lab trained on a GPU is not bit-reproducible, so two notebooks whose saved outputs print
  the same baseline and fine-tuned accuracies to four decimals, the same validation figures epoch after epoch in
  Keras' progress lines, or the same (or a near-identical) figure come from one run. Runs in fast mode (deterministic
  by design) or without saved outputs are no evidence, and are said to be so;
* **who ran it**: Colab writes the account that ran each cell (``executionInfo.user``) into the notebook. A notebook run
  by an account whose name is not the submitter's (the LMS's name, from the download's file name), or by several
  accounts, is a strong hint, and so is an account that ran two students' notebooks;
* **the same words**: near-identical discussion answers, already listed per question (``manual.similar_pairs``), are
  added to a group's evidence when its members share a run or an account.

``scan`` reads each notebook once (its fingerprint is kept in ``OUT/copies/fingerprints.json``, keyed by the
submission's content, so a re-run with nothing new recomputes nothing) and writes ``OUT/copies/groups.json``: the
groups of submissions that share a run or an account, each with what they share and how unusual it is, and the
pairs that share a fast-mode run, which are not evidence. Nothing changes a grade: the grader decides each group
in ``kit review`` (``copy`` or ``not``, with a note), the decision goes into ``manual_review.json``, and the
gradebook and the class report show it. Students' pages never show it, nor another student's name. Everything stays
in ``--out``, on the instructor's machine.
"""
import base64
import hashlib
import io
import json
import math
import re
import statistics
import unicodedata
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path

from kit import intake, layout
from kit.classwork import manual
from kit.classwork.review import ownrun

FOLDER = "copies"
VERSION = 1
"""Bumped when a fingerprint's content changes: every fingerprint is then taken again."""
EPOCHS_TO_MATCH = 5
"""Validation figures of at least this many epochs, identical and in order, are one run's."""
THUMB = 32
"""Figures are compared as THUMB x THUMB grey levels."""
SAME_PICTURE = 0.15
"""Figures of one size whose thumbnails differ by at most this much on average (of 255) are one picture drawn again
or saved again. Measured on the test class (tests/copied_class.py): one run's figure drawn again from its printed
numbers differs by 0.005, while the closest two of twelve different runs differ by 0.56 (the lab's layout is the
same in every figure; only the curves and the axes' numbers differ)."""
COINCIDENCE = 0.05
"""Printed accuracies are exact fractions of the test set (k/10000 on CIFAR-10), so two different runs can print the
same two by chance, the more likely the bigger and the tighter the class. Where a class of its size and spread
would show at least this many such pairs by chance (``chance_pairs``), sharing them alone is not evidence: it is
listed as such, and counted only beside another signal."""
DECISIONS = {"copy": "a copy", "not": "not a copy"}

_EPOCH = re.compile(r"\bEpoch (\d+)/(\d+)")
_VAL = re.compile(r"(val_[a-z_]+): ([-+]?\d+\.\d+(?:e[-+]?\d+)?)")


@dataclass
class Fingerprint:
    """What one notebook's saved outputs and metadata say of the run behind it."""

    key: str
    """The submission's content key (``row.key``): the fingerprint is taken again when it changes."""
    kind: str
    """``ownrun``'s verdict on the run: ``full``, ``reduced``, ``fast`` or ``none`` (no saved outputs)."""
    accuracies: list = field(default_factory=list)
    """[baseline, fine-tuned] as fractions rounded to 4 decimals, where both were printed that precisely; else []."""
    epochs: list = field(default_factory=list)
    """Each epoch's validation figures as printed ("val_loss=0.5512 val_categorical_accuracy=0.8123"), in order."""
    figures: list = field(default_factory=list)
    """[sha256 of the PNG, its size ("685x704"), its ``thumbnail``] of each figure in the outputs."""
    accounts: list = field(default_factory=list)
    """[user id, display name] of each account that ran a cell (Colab's ``executionInfo``), in order, once each."""
    student: str = ""
    """The submitter's name as the LMS's download name gives it; "" when the file name carries none."""


@dataclass
class Evidence:
    """One thing the members of a group share."""

    kind: str
    """``run`` (printed accuracies, validation epochs, a figure), ``account`` or ``words``."""
    text: str
    """What it is, for the grader (English, like the rest of the instructor's pages)."""
    members: list = field(default_factory=list)
    """The submissions it concerns."""


@dataclass
class Group:
    """Submissions that share a run or an account, for the grader to decide."""

    id: str
    """Stable over re-runs: a digest of its members' names (a decision stays with it)."""
    members: list
    evidence: list


def _fraction(text: str):
    """A printed accuracy as a fraction rounded to 4 decimals, when printed with at least that precision."""
    match = re.search(r"([-+]?\d+)[.,](\d+)\s*(%?)", text or "")
    if not match:
        return None
    decimals = len(match.group(2)) + (2 if match.group(3) else 0)  # 81.23% is 0.8123
    if decimals < 4:
        return None
    value = float(f"{match.group(1)}.{match.group(2)}") / (100 if match.group(3) else 1)
    return round(value, 4)


def _epochs(nb) -> list:
    found, current = [], None
    for cell in nb.get("cells", []):
        for text in ownrun._texts(cell) if cell.get("cell_type") == "code" else []:
            for line in ownrun._lines(text):
                epoch = _EPOCH.search(line)
                if epoch:
                    current = epoch.group(1)
                    continue
                values = _VAL.findall(line)
                if values and current is not None:
                    found.append(" ".join(f"{k}={v}" for k, v in sorted(values)))
                    current = None
    return found


def thumbnail(png: bytes) -> tuple:
    """(width x height, the image as ``THUMB`` x ``THUMB`` grey levels, base64): what two figures are compared by."""
    from PIL import Image

    image = Image.open(io.BytesIO(png))
    size = f"{image.width}x{image.height}"
    grey = image.convert("L").resize((THUMB, THUMB), Image.LANCZOS)
    return size, base64.b64encode(grey.tobytes()).decode()


def _figures(nb) -> list:
    found = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        for uri in ownrun._pngs(cell):
            png = base64.b64decode(uri.split(",", 1)[1])
            try:
                size, thumb = thumbnail(png)
            except Exception:  # an image PIL cannot read: its bytes still count
                size, thumb = "", ""
            found.append([hashlib.sha256(png).hexdigest(), size, thumb])
    return found


def _accounts(nb) -> list:
    seen = []
    for cell in nb.get("cells", []):
        user = ((cell.get("metadata") or {}).get("executionInfo") or {}).get("user") or {}
        if isinstance(user, dict) and (user.get("userId") or user.get("displayName")):
            account = [str(user.get("userId") or ""), str(user.get("displayName") or "")]
            if account not in seen:
                seen.append(account)
    return seen


def fingerprint(nb, key: str, student: str) -> Fingerprint:
    """A notebook's ``Fingerprint`` (an ``nbformat`` node or a plain dict; None for an unreadable file)."""
    if nb is None:
        return Fingerprint(key, "none", student=student)
    run = ownrun.read(nb)
    base, final = _fraction(run.baseline), _fraction(run.finetune)
    return Fingerprint(key, run.kind, [base, final] if None not in (base, final) else [], _epochs(nb),
                       _figures(nb), _accounts(nb), student)


def _tokens(name: str) -> set:
    plain = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode().lower()
    return {t for t in re.findall(r"[a-z]+", plain) if len(t) > 1}


def same_person(account_name: str, student: str) -> bool:
    """Whether a Colab account's display name names the submitter: every word of the shorter in the longer, accents
    and case aside; a name of one word (Canvas's ``garciaana``) names whoever's every word it holds."""
    a, b = _tokens(account_name), _tokens(student)
    if not (a and b):
        return False
    if a <= b or b <= a:
        return True
    one, other = (a, b) if len(a) == 1 else (b, a)
    return len(one) == 1 and all(word in next(iter(one)) for word in other)


class _Union:
    def __init__(self):
        self.parent = {}

    def find(self, x):
        while self.parent.setdefault(x, x) != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def join(self, a, b):
        self.parent[self.find(a)] = self.find(b)


COMMON = 2
"""A figure that more submissions than this share, among them runs that print different numbers, is drawn from what
every student has, not from one run."""


def _same_figures(prints: dict) -> tuple:
    """([(a, b, what they share)] for submissions with a byte-identical figure or the same picture saved again,
    [the submissions of each figure that different runs share])."""
    import numpy

    figures = [(name, sha, size, thumb) for name, p in prints.items() for sha, size, thumb in p.figures]
    found, by_bytes = [], {}
    for name, sha, *_ in figures:
        by_bytes.setdefault(sha, set()).add(name)
    # a figure that more than COMMON runs printing different numbers share is drawn from what everyone has (a
    # sample of the data), not from a run; one that a pair shares, or runs that print the same numbers, is evidence
    common = {sha for sha, names in by_bytes.items() if len(names) > COMMON
              and len({json.dumps([prints[n].accuracies, prints[n].epochs]) for n in names
                       if prints[n].accuracies or prints[n].epochs}) > 1}
    for sha, names in by_bytes.items():
        if sha not in common:
            found += [(a, b, "a byte-identical figure") for a, b in combinations(sorted(names), 2)]
    figures = [f for f in figures if f[1] not in common]
    drawn = [(name, sha, size, thumb) for name, sha, size, thumb in figures if thumb]
    shared_by_many = [sorted(by_bytes[sha]) for sha in common]
    if len(drawn) < 2:
        return found, shared_by_many
    pixels = numpy.array([numpy.frombuffer(base64.b64decode(t), numpy.uint8) for *_, t in drawn], numpy.float32)
    again, closest = [], None
    for i, (a, sha_a, size_a, _) in enumerate(drawn):
        differences = numpy.abs(pixels[i + 1:] - pixels[i]).mean(axis=1)
        for j, difference in enumerate(differences.tolist(), start=i + 1):
            b, sha_b, size_b, _ = drawn[j]
            if a == b or sha_a == sha_b or size_a != size_b:
                continue
            if difference <= SAME_PICTURE:
                again.append((a, b, difference))
            elif closest is None or difference < closest:
                closest = difference
    # how unusual: how far apart the class's other figures are
    usual = f"; the closest two other figures of the class differ by {closest:.2f}" if closest is not None else ""
    return found + [(a, b, f"the same figure saved or drawn again (its pixels differ by {d:.3f} of 255 on average"
                           f"{usual})") for a, b, d in again], shared_by_many


def chance_pairs(accuracies: list) -> float:
    """How many pairs of a class whose printed [baseline, fine-tuned] accuracies are ``accuracies`` would print the
    same two by chance: two draws of a normal of spread sigma (in units of the fourth decimal) coincide with
    probability 1/(2 sqrt(pi) sigma); the baseline and the gain over it are taken as independent (the fine-tuned
    accuracy follows the baseline: its own spread would understate the chance)."""
    n = len(accuracies)
    if n < 2:
        return 0.0

    def same(values):
        sigma = statistics.pstdev(values) * 1e4
        return 1.0 if sigma < 1 else min(1.0, 1 / (2 * math.sqrt(math.pi) * sigma))

    return n * (n - 1) / 2 * same([b for b, _ in accuracies]) * same([f - b for b, f in accuracies])


def compare(prints: dict, answers: dict | None = None, questions: list = ()) -> dict:
    """{"groups": [Group], "not_evidence": [Evidence]} of a class's fingerprints ({submission: Fingerprint})."""
    evidence, not_evidence, union, weak = [], [], _Union(), []
    counted = {name: p for name, p in prints.items() if p.kind in ("full", "reduced")}
    chance = chance_pairs([p.accuracies for p in counted.values() if p.accuracies])

    def share(kind, text, members):
        evidence.append(Evidence(kind, text, sorted(members)))
        for a, b in zip(members, members[1:]):
            union.join(a, b)
        union.find(members[0])

    # the same run: exact numbers and epochs through an index, figures compared in pairs
    for field_name, what in (("accuracies", "the same baseline and fine-tuned accuracies to four decimals"),
                             ("epochs", "the same validation figures at every epoch")):
        index = {}
        for name, p in prints.items():
            value = getattr(p, field_name)
            if not value or (field_name == "epochs" and len(value) < EPOCHS_TO_MATCH):
                continue
            index.setdefault(json.dumps(value), []).append(name)
        for value, names in index.items():
            if len(names) < 2:
                continue
            shown = ", ".join(f"{v:.4f}" for v in json.loads(value)) if field_name == "accuracies" else \
                f"{len(json.loads(value))} epochs, e.g. {json.loads(value)[-1]}"
            text = f"{what} ({shown}); no other submission of {len(prints)} prints them" if len(names) == 2 else \
                f"{what} ({shown}), shared by {len(names)} submissions"
            runs = [n for n in names if n in counted]
            if len(runs) >= 2 and field_name == "accuracies" and chance >= COINCIDENCE:
                weak.append(Evidence("run", f"{text}; a class of {len(counted)} runs with this spread shows about "
                                            f"{chance:.2g} such pairs by chance", sorted(runs)))
            elif len(runs) >= 2:
                if field_name == "accuracies":
                    odds = f"{round(1 / chance):,}" if chance > 1e-6 else "more than a million"
                    text += f"; by chance, about 1 class in {odds} of this size and spread would show such a pair"
                share("run", text, runs)
            fast = [n for n in names if prints[n].kind == "fast"]
            if len(fast) >= 2:
                not_evidence.append(Evidence("run", f"{what} in fast mode, which gives every run of the same code "
                                                   "the same numbers: not evidence", sorted(fast)))
    same, shared_by_many = _same_figures(counted)
    for a, b, text in same:
        share("run", text, [a, b])
    for names in shared_by_many:
        not_evidence.append(Evidence("run", f"a figure {len(names)} submissions share whose runs print different "
                                            "numbers: drawn from what every student has (a sample of the data, say), "
                                            "not from one run: not evidence", names))
    # who ran it
    by_account = {}
    named_runs = sum(1 for p in prints.values() if p.student and any(d for _, d in p.accounts))
    unusual = sum(1 for p in prints.values()
                  if p.student and any(d and not same_person(d, p.student) for _, d in p.accounts))
    for name, p in prints.items():
        for user_id, display in p.accounts:
            by_account.setdefault(user_id or display, []).append((name, display))
        if len(p.accounts) > 1:
            share("account", f"run by {len(p.accounts)} accounts: "
                             + ", ".join(d or i for i, d in p.accounts), [name])
        strangers = [d for _, d in p.accounts if d and p.student and not same_person(d, p.student)]
        if strangers:
            owner = [other for other, q in prints.items() if other != name and q.student
                     and any(same_person(d, q.student) for d in strangers)]
            named = f": the name of {', '.join(prints[o].student for o in owner)}, of this class" if owner else ""
            share("account", f"run by the account '{strangers[-1]}', not {p.student}'s{named} ({unusual} of "
                             f"{named_runs} notebooks run by a named account were run by one not their submitter's)",
                  [name, *owner])
    for account, runs in by_account.items():
        names = sorted({n for n, _ in runs})
        if len(names) >= 2:
            share("account", f"the same account ('{runs[0][1] or account}') ran each of them", names)
    # accuracies alone where a class shares them by chance: beside another signal, or said not to be evidence
    joined = {union.find(m) for item in evidence for m in item.members}
    for item in weak:
        roots = {union.find(m) for m in item.members}
        if len(roots) == 1 and roots <= joined:
            evidence.append(item)
        else:
            not_evidence.append(Evidence(item.kind, f"{item.text}: not evidence on its own", item.members))
    # group, and the words the members share
    members = {}
    for item in evidence:
        members.setdefault(union.find(item.members[0]), set()).update(item.members)
    groups = []
    for root, names in members.items():
        names = sorted(names)
        items = [e for e in evidence if set(e.members) <= set(names)]
        if answers and len(names) > 1:
            for q in questions:
                texts = {n: (answers.get(n) or {}).get(q.name) for n in names}
                for a, b, score in manual.similar_pairs({n: t for n, t in texts.items() if t}, q):
                    items.append(Evidence("words", f"near-identical answers to {q.name} ({score:.0%} alike)", [a, b]))
        groups.append(Group("g-" + hashlib.sha256("\0".join(names).encode()).hexdigest()[:10], names, items))
    return {"groups": sorted(groups, key=lambda g: g.members), "not_evidence": not_evidence}


def scan(out: Path, rows: list, submissions, pattern: str | None = None) -> dict:
    """Fingerprint the class's notebooks (again only those whose content changed) and write its groups; returns
    them as ``groups.json`` holds them."""
    from kit.classwork import gradebook

    folder = Path(out) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    cache_path, groups_path = folder / "fingerprints.json", folder / "groups.json"
    try:
        cache = json.loads(cache_path.read_text(encoding="utf-8"))
        cache = cache.get("prints", {}) if cache.get("version") == VERSION else {}
    except (OSError, ValueError):
        cache = {}
    inputs = hashlib.sha256(json.dumps([[r.submission, r.key] for r in rows]).encode()).hexdigest()
    try:
        known = json.loads(groups_path.read_text(encoding="utf-8"))
        if known.get("inputs") == inputs and known.get("version") == VERSION:
            return known  # nothing new: nothing recomputed
    except (OSError, ValueError):
        pass
    prints, answers = {}, {}
    questions = manual.manual_questions()
    for row in rows:
        cached = cache.get(row.submission)
        if cached and cached.get("key") == row.key and row.key:
            prints[row.submission] = Fingerprint(**cached["print"])
            answers[row.submission] = cached.get("answers") or {}
            continue
        try:
            nb = intake.read_notebook(layout.locate(submissions, row.submission), validate=False)
        except (intake.Unreadable, OSError):
            nb = None
        named = gradebook.student_name(row.submission, pattern)
        student = named if named != Path(row.submission).stem else ""  # an LMS's name, not the file's
        prints[row.submission] = fingerprint(nb, row.key, student)
        answers[row.submission] = manual.answers_of(nb, questions) if nb is not None else {}
    cache_path.write_text(json.dumps({"version": VERSION, "prints": {
        n: {"key": p.key, "print": asdict(p), "answers": answers[n]} for n, p in prints.items()}},
        ensure_ascii=False), encoding="utf-8")
    found = compare(prints, answers, questions)
    result = {"version": VERSION, "inputs": inputs, "groups": [asdict(g) for g in found["groups"]],
              "not_evidence": [asdict(e) for e in found["not_evidence"]]}
    groups_path.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return result


def read(out: Path) -> dict:
    """``groups.json`` as the last scan wrote it; no groups when there was none."""
    try:
        return json.loads((Path(out) / FOLDER / "groups.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"groups": [], "not_evidence": []}


def decisions(record: dict) -> dict:
    """{group id: its last decision ({"decision", "note", "at"})} from ``manual_review.json``'s record."""
    return {gid: history[-1] for gid, history in (record.get("copies") or {}).items() if history}


def per_submission(out: Path, record: dict) -> dict:
    """{submission: what the gradebook says of it: "a copy (g-…)", "not a copy (g-…)" or "to review (g-…)"}."""
    decided = decisions(record)
    said = {}
    for group in read(out)["groups"]:
        decision = decided.get(group["id"], {}).get("decision")
        for member in group["members"]:
            said[member] = f"{DECISIONS.get(decision, 'to review')} ({group['id']})"
    return said
