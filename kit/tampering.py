"""Submissions that reach into the grading machinery, found by reading their code before it runs.

The checks run inside the student's kernel, after the student's cells, so a cell could
replace a check, edit the audit's records, patch NumPy or Keras, or rewrite Otter's
results. No code in that kernel can be made immune to code that runs before it, so the
grader reads each submitted code cell (as IPython would run it) and lists every line that
touches what grading relies on. A row with findings gets the status ``flagged``: its
points are still Otter's, held for the instructor to review with the offending lines.

The scan is conservative: it flags forms a lab answer never needs (``exec``, ``sys.modules``,
dunder attributes, patching a module's functions, shell escapes...), not names it guesses
are suspicious. The kit's own cells of the template (set-up, export) are exempt while
they are unchanged.
"""
import ast
import hashlib
from dataclasses import dataclass
from pathlib import Path

from IPython.core.inputtransformer2 import TransformerManager

from kit import embed, intake, paths

MACHINERY = {"tl_checks", "tl_hidden_checks", "tl_audit", "tl_fastmode", "tl_setup", "otter", "AUDIT"}
"""Names of the grading machinery itself: the checks, the audit, fast mode and Otter."""
INTROSPECTION_MODULES = {"builtins", "importlib", "gc", "inspect", "ctypes", "runpy", "imp", "marshal", "pickle",
                         "dill", "cloudpickle", "unittest", "mock", "types", "code", "codeop", "sys", "wrapt"}
"""Modules that reach other modules' objects, frames or code: a lab answer needs none of them."""
FORBIDDEN_CALLS = {"exec", "eval", "compile", "__import__", "globals", "locals", "vars", "setattr", "delattr",
                   "breakpoint", "get_ipython"}
"""Built-ins that run computed code or reach namespaces by name."""
ALLOWED_DUNDERS = {"__name__", "__version__", "__doc__", "__init__"}
"""Dunder attributes an answer may read; every other one reaches into objects' internals."""
ALLOWED_CLASS_DUNDERS = {"__init__", "__repr__", "__str__", "__call__", "__len__", "__getitem__", "__iter__", "__next__"}
"""Dunder methods a class of the answer may define: a callback, a layer, and the sequence protocol a
``keras.utils.PyDataset`` or a batch generator needs."""
SENSITIVE_METHODS = {"fit", "evaluate", "predict", "compile", "train_step", "test_step", "get_weights",
                     "set_weights", "apply_gradients", "apply", "learning_rate", "trainable", "trainable_weights",
                     "non_trainable_weights", "weights", "trainable_variables", "variables", "iterations",
                     "allclose", "isclose", "array_equal", "asarray", "array", "check", "export"}
"""Methods and properties the audit and the checks read: replacing or overriding them fakes what happened."""
ASSIGNABLE = {"trainable", "learning_rate"}
"""Attributes the lab itself sets (``base_model.trainable = False``) or a student may set to train otherwise: the
checks read what they did during each fit (trainable weights, the rate at every epoch), not the value left."""
FILE_CHANGERS = {"remove", "unlink", "rename", "replace", "rmtree", "copy", "copy2", "copyfile", "copytree", "move",
                 "symlink", "link", "write_text", "write_bytes", "chdir", "chmod", "truncate"}
"""Filesystem calls that could replace the checks or the tests on disk when given a computed path."""
GRADER_METHODS = {"check", "check_all", "export"}
"""What a notebook may call on Otter's ``grader``."""
ALLOWED_MAGICS = {"matplotlib", "time", "timeit", "capture"}
"""IPython magics that change nothing grading relies on (``%%time`` bodies are scanned too)."""
SUSPECT_TEXT = ("tl_", "otter", "tests/", "tests\\", "sys.modules", "__")
"""Text in a string literal that names the machinery, its files or Python's internals."""


@dataclass
class Finding:
    """One line of a submission that reaches into the grading machinery."""

    cell: int
    """Index of the code cell among the notebook's cells (0-based, as nbformat counts)."""
    line: int
    """Line within that cell (1-based)."""
    code: str
    """The line as the student wrote it."""
    reason: str
    """What it reaches, in Spanish (it reaches the student's feedback page too)."""

    def __str__(self) -> str:
        return f"celda {self.cell}, línea {self.line}: {self.reason}: {self.code.strip()[:160]}"


def python_of(source: str) -> str:
    """The cell as IPython runs it: magics and shell escapes become ``get_ipython()`` calls."""
    return TransformerManager().transform_cell(source)


def _root(node):
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _text(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


class _Scanner(ast.NodeVisitor):
    """Collects (line, reason) for each form a lab answer never needs."""

    def __init__(self):
        self.found = []
        self.imported = set()

    def flag(self, node, reason):
        self.found.append((getattr(node, "lineno", 1), reason))

    def visit_Import(self, node):
        for alias in node.names:
            self._module(node, alias.name)
            self.imported.add((alias.asname or alias.name).split(".")[0])
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        self._module(node, node.module or "")
        for alias in node.names:
            self.imported.add(alias.asname or alias.name)
            if alias.name in MACHINERY or alias.name in INTROSPECTION_MODULES or alias.name == "*":
                self.flag(node, f"importa {alias.name!r} de {node.module!r}")
        self.generic_visit(node)

    def _module(self, node, name):
        top = name.split(".")[0]
        if top in MACHINERY or name.startswith("unittest.mock"):
            self.flag(node, f"importa la maquinaria de calificación ({name})")
        elif top in INTROSPECTION_MODULES:
            self.flag(node, f"importa {name}, que da acceso a otros módulos o a su código")

    def visit_Name(self, node):
        if node.id in MACHINERY:
            self.flag(node, f"usa {node.id}, parte de la calificación")
        elif node.id in FORBIDDEN_CALLS or node.id in ("__builtins__", "__loader__", "__spec__"):
            self.flag(node, f"usa {node.id}")

    def visit_Attribute(self, node):
        if node.attr.startswith("__") and node.attr.endswith("__") and node.attr not in ALLOWED_DUNDERS:
            self.flag(node, f"accede a {node.attr}, el interior de un objeto")
        elif node.attr.startswith(("f_", "gi_", "tb_", "co_", "_grading")):
            self.flag(node, f"accede a {node.attr}")
        self.generic_visit(node)

    def visit_Call(self, node):
        func = node.func
        if isinstance(func, ast.Attribute) and _root(func) == "grader":
            if not (isinstance(func.value, ast.Name) and func.attr in GRADER_METHODS):
                self.flag(node, f"usa grader.{func.attr}")
            for arg in [*node.args, *node.keywords]:
                self.visit(arg)
            return
        if isinstance(func, ast.Name) and func.id == "getattr":
            name = _text(node.args[1]) if len(node.args) > 1 else None
            if name is None or (name.startswith("__") and name not in ALLOWED_DUNDERS):
                self.flag(node, "getattr con un nombre calculado o interno")
        if self._ipython(node):
            return
        if (isinstance(func, ast.Attribute) and func.attr in FILE_CHANGERS and _root(func) in self.imported
                and any(_text(a) is None for a in node.args[:2])):
            self.flag(node, f"{func.attr} sobre una ruta calculada")
        if isinstance(func, ast.Name) and func.id == "open" and node.args and _text(node.args[0]) is None:
            mode = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "mode"), None)
            if mode is not None and (_text(mode) is None or set(_text(mode)) & set("wax+")):
                self.flag(node, "escribe un archivo de nombre calculado")
        self.generic_visit(node)

    def _ipython(self, node) -> bool:
        """``get_ipython().run_line_magic(...)``: harmless magics pass, the rest (shell, %run, pip) are flagged."""
        func = node.func
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call)
                and isinstance(func.value.func, ast.Name) and func.value.func.id == "get_ipython"):
            return False
        magic = _text(node.args[0]) if node.args else None
        if func.attr in ("run_line_magic", "run_cell_magic") and magic in ALLOWED_MAGICS:
            # What %time runs is a statement, what %%time runs is the cell's body: both are scanned as code.
            cell = func.attr == "run_cell_magic"
            code = _text(node.args[2 if cell else 1]) if len(node.args) > (2 if cell else 1) else None
            if code is not None and magic != "matplotlib":
                offset = node.lineno if cell else node.lineno - 1
                self.found.extend((offset + line, reason) for line, reason in scan_source(code))
            return True
        what = {"system": "una orden del sistema (!)", "getoutput": "una orden del sistema (!)"}.get(func.attr)
        self.flag(node, what or f"la orden mágica %{magic}")
        return True

    def visit_Constant(self, node):
        if isinstance(node.value, str):
            hit = next((t for t in SUSPECT_TEXT if t in node.value), None)
            if hit:
                self.flag(node, f"un texto que nombra {hit!r}")

    def _targets(self, targets):
        for target in targets:
            for node in ast.walk(target):
                if isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)):
                    root = _root(node.value)
                    if root in self.imported or node.attr in SENSITIVE_METHODS - ASSIGNABLE:
                        self.flag(node, f"reemplaza {ast.unparse(node)}")

    def visit_Assign(self, node):
        self._targets(node.targets)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._targets([node.target])
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        self._targets([node.target])
        self.generic_visit(node)

    def visit_Delete(self, node):
        self._targets(node.targets)
        self.generic_visit(node)

    def visit_ClassDef(self, node):
        for item in node.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                dunder = item.name.startswith("__") and item.name not in ALLOWED_CLASS_DUNDERS
                if dunder or item.name in SENSITIVE_METHODS:
                    self.flag(item, f"la clase {node.name} redefine {item.name}")
            elif isinstance(item, ast.Assign) and any(isinstance(t, ast.Name) and t.id in SENSITIVE_METHODS
                                                      for t in item.targets):
                self.flag(item, f"la clase {node.name} redefine un atributo que lee la calificación")
        self.generic_visit(node)


def _parse(source: str):
    """The cell's syntax tree as IPython would run it; None for a cell that does not parse (it cannot run)."""
    try:
        return ast.parse(python_of(source))
    except SyntaxError:
        return None


def _scanned(tree, imported) -> _Scanner:
    scanner = _Scanner()
    scanner.imported |= set(imported)
    scanner.visit(tree)
    return scanner


def scan_source(source: str, imported=None) -> list:
    """[(line, reason)] for one cell's Python source; a cell that does not parse is left alone."""
    tree = _parse(source)
    return [] if tree is None else sorted(set(_scanned(tree, imported or ()).found))


def fingerprint(source: str) -> str | None:
    """A cell's identity as IPython would run it (its syntax tree, hashed): None for a cell that does not parse."""
    tree = _parse(source)
    return None if tree is None else hashlib.sha256(ast.dump(tree).encode()).hexdigest()


def kit_cells(template: Path = paths.STUDENT / paths.MASTER.name) -> set:
    """Fingerprints of the template's own cells that the scan would flag (set-up, export): exempt while unchanged.

    The set-up cell may also carry no lab files at all (``LAB_FILES = ""``: it then creates nothing), never
    other ones: at grading it would create whatever files they hold that the autograder lacks."""
    nb = intake.read_notebook(template)
    return {fingerprint(source) for c in nb.cells if c.cell_type == "code" and scan_source(c.source)
            for source in (c.source, embed.blank(c.source))}


def scan(notebook, exempt: set = frozenset()) -> list:
    """Every ``Finding`` in a notebook's code cells, except in the kit's own unchanged cells."""
    findings, imported = [], set()
    for index, cell in enumerate(notebook.cells):
        tree = _parse(cell.source) if cell.cell_type == "code" else None
        if tree is None:
            continue
        scanner = _scanned(tree, imported)
        if hashlib.sha256(ast.dump(tree).encode()).hexdigest() not in exempt:
            lines = cell.source.splitlines()
            for line, reason in sorted(set(scanner.found)):
                findings.append(Finding(index, line, lines[line - 1] if 0 < line <= len(lines) else "", reason))
        imported = scanner.imported  # names imported in any cell, the kit's included: their attributes are guarded
    return findings


def summary(findings: list, limit: int = 8) -> str:
    """One message for the row: what was found, first lines first, each line once (the scan and the run may both
    report it, for one reason or two) and counted once."""
    lines = {}
    for f in findings:
        reasons = lines.setdefault((f.cell, f.line), (f, []))[1]
        if f.reason not in reasons:
            reasons.append(f.reason)
    told = [str(Finding(f.cell, f.line, f.code, "; ".join(reasons))) for f, reasons in lines.values()]
    shown = "; ".join(told[:limit])
    more = f"; y {len(told) - limit} más" if len(told) > limit else ""
    count = "1 línea" if len(told) == 1 else f"{len(told)} líneas"
    return f"Marcada para revisión: el código toca la calificación ({count}): {shown}{more}"
