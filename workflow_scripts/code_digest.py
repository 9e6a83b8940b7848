"""The digest of the code a stage runs, so that Snakemake reruns a stage when that code
changes and only then.

Snakemake reruns a rule when its own script changes, not when a module the script imports
does. ``stage_digest("finetune")`` is a digest of ``workflow_scripts/stages/finetune.py``
and of every ``workflow_scripts`` module it imports, directly or through the modules it
imports (found by reading their ``import`` statements, wherever they stand in the file);
each rule holds its stage's digest as a param, so an edit to ``nn/training.py`` reruns
every stage that imports it and nothing else. Modules a stage imports by name at run time
(``importlib``) are not seen: the rule names them (``prepare_faces``: the dataset's reader).

A module counts by its syntax tree without docstrings, not its text: comments,
docstrings, blank lines and line breaks change no digest, while any change of what the
code does (a statement, a name, a constant, a message) does. Another Python version may
dump a tree differently and so rerun everything once.

Torch-free: the Snakemake rules read it at DAG build.
"""

import ast
import hashlib
from functools import cache
from pathlib import Path

PACKAGE = "workflow_scripts"
ROOT = Path(__file__).resolve().parents[1]  # the folder holding the package


def module_path(name: str, root: Path = ROOT) -> Path | None:
    """The file of module ``name`` under ``root`` (a package's ``__init__.py``), or None
    where ``name`` is no module of the package (a function or class imported by name)."""
    base = root.joinpath(*name.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def imported_names(tree: ast.Module, name: str, is_package: bool) -> set[str]:
    """Every name an ``import`` of the module (``name``; its tree) may load from the package:
    modules, and for ``from A import b`` both ``A`` and ``A.b`` (``b`` may be a module)."""
    package = name if is_package else name.rpartition(".")[0]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package, up level - 1 packages
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return {n for n in names if n.split(".")[0] == PACKAGE}


def code_without_docstrings(tree: ast.Module) -> str:
    """The tree as text with every module, class and function docstring removed (comments
    and layout are not in a tree)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def _module(name: str, root: Path) -> tuple[str, frozenset]:
    """(the module's code as ``code_without_docstrings`` gives it, the package's modules it
    imports, its parent packages among them: their ``__init__`` runs first)."""
    path = module_path(name, root)
    return _parsed(path.read_text(), path, name, root)


@cache  # by the text: a file edited between two calls is read again
def _parsed(text: str, path: Path, name: str, root: Path) -> tuple[str, frozenset]:
    tree = ast.parse(text, filename=str(path))  # a syntax error names the file and line
    is_package = path.name == "__init__.py"
    imported = imported_names(tree, name, is_package)
    parents = {".".join(name.split(".")[:end]) for end in range(1, name.count(".") + 1)}
    found = frozenset(n for n in imported | parents if module_path(n, root) is not None)
    return code_without_docstrings(tree), found


def modules_of(names, root: Path = ROOT) -> list[str]:
    """``names`` and every package module they import, directly or not, sorted."""
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if module_path(name, root) is None:
            raise ValueError(f"{name}: no module of {PACKAGE} under {root}")
        seen.add(name)
        todo.extend(_module(name, root)[1])
    return sorted(seen)


def stage_digest(stage: str, *extra_modules: str, root: Path = ROOT) -> str:
    """12 hex digits over the code of stage script ``workflow_scripts/stages/<stage>.py``,
    ``extra_modules`` (modules the stage imports at run time, as "module" or
    "module:function") and every package module those import."""
    start = [f"{PACKAGE}.stages.{stage}", *(extra.partition(":")[0] for extra in extra_modules)]
    digest = hashlib.sha256()
    for name in modules_of(start, root):
        digest.update(f"{name}\n{_module(name, root)[0]}\n".encode())
    return digest.hexdigest()[:12]
