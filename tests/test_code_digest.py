"""A stage's code digest (workflow_scripts/code_digest.py): what it covers, what moves it,
and that every rule holds its own stage's. What it reruns in a finished study is
tests/test_workflow.py's."""

import re
from pathlib import Path

import pytest

from conftest import ROOT
from workflow_scripts.code_digest import modules_of, stage_digest

STAGE = '''"""A stage."""
from workflow_scripts.lib import helper


def main(snakemake):
    from . import lazy  # a relative import inside a function counts too
    return helper(lazy.VALUE)
'''
LIB = '''"""Helpers."""


def helper(value):
    """Twice the value."""
    return 2 * value
'''


@pytest.fixture
def package(tmp_path):
    """A package like workflow_scripts: stages/step.py imports lib and stages/lazy; other and
    reader are imported by nothing."""
    root = tmp_path / "workflow_scripts"
    (root / "stages").mkdir(parents=True)
    for path, text in {"__init__.py": "", "stages/__init__.py": "", "stages/step.py": STAGE, "lib.py": LIB,
                       "stages/lazy.py": "VALUE = 1\n", "other.py": "X = 1\n", "reader.py": "def read():\n    return 1\n"}.items():
        (root / path).write_text(text)
    return tmp_path


def test_a_stage_covers_what_it_imports_directly_or_not(package):
    assert modules_of(["workflow_scripts.stages.step"], package) == [
        "workflow_scripts", "workflow_scripts.lib", "workflow_scripts.stages", "workflow_scripts.stages.lazy",
        "workflow_scripts.stages.step"]
    # the project's own: the trainer is the fine-tuning's, the plots are not; the plots are the figures'
    finetune = modules_of(["workflow_scripts.stages.finetune"])
    figures = modules_of(["workflow_scripts.stages.plot_figures"])
    assert "workflow_scripts.nn.stacked_training" in finetune and "workflow_scripts.report.plots" not in finetune
    assert "workflow_scripts.report.plots" in figures and "workflow_scripts.nn.stacked_training" not in figures


def test_a_change_of_behaviour_anywhere_it_imports_moves_the_digest_and_nothing_else_does(package):
    before = stage_digest("step", root=package)
    lib, lazy = package / "workflow_scripts" / "lib.py", package / "workflow_scripts" / "stages" / "lazy.py"
    lib.write_text(LIB.replace('"""Twice the value."""', '"""Two times the value."""\n    # a comment\n'))
    (package / "workflow_scripts" / "other.py").write_text("X = 2\n")  # imported by nothing
    assert stage_digest("step", root=package) == before  # docstrings, comments, blank lines, other modules
    lib.write_text(LIB.replace("2 * value", "3 * value"))
    assert stage_digest("step", root=package) != before  # a constant of a module it imports
    lib.write_text(LIB)
    lazy.write_text("VALUE = 2\n")
    assert stage_digest("step", root=package) != before  # a module imported inside a function, relatively
    lazy.write_text("VALUE = 1\n")
    assert stage_digest("step", root=package) == before


def test_modules_imported_at_run_time_count_where_the_rule_names_them(package):
    plain = stage_digest("step", root=package)
    with_reader = stage_digest("step", "workflow_scripts.reader:read", root=package)
    assert with_reader != plain
    (package / "workflow_scripts" / "reader.py").write_text("def read():\n    return 2\n")
    assert stage_digest("step", root=package) == plain
    assert stage_digest("step", "workflow_scripts.reader:read", root=package) != with_reader
    with pytest.raises(ValueError, match="workflow_scripts.nowhere: no module of workflow_scripts"):
        stage_digest("step", "workflow_scripts.nowhere:read", root=package)


def test_every_rule_holds_the_digest_of_its_own_stage_script():
    checked = []
    for path in sorted((ROOT / "rules").glob("*.smk")):
        text = path.read_text()
        for rule, body in re.findall(r"^\s*rule (\w+):\n(.*?)(?=^\s*rule \w+:|^use rule|\Z)", text, re.S | re.M):
            script = re.search(r'script:\s*"\.\./workflow_scripts/stages/(\w+)\.py"', body)
            code = re.search(r'code=stage_digest\("(\w+)"', body)
            assert script and code, f"{path.name}: rule {rule} has no stage script or no code param"
            assert code.group(1) == script.group(1), f"{path.name}: rule {rule} runs {script.group(1)} but digests {code.group(1)}"
            checked.append(rule)
    assert len(checked) >= 20 and "finetune" in checked and "prepare_faces" in checked
    prepare = re.search(r"code=stage_digest\(\"prepare_faces\", (.+)\),", (ROOT / "rules" / "data.smk").read_text())
    assert prepare and prepare.group(1) == "datasets.dataset(config).reader"  # the reader it imports by name


def test_every_dataset_reader_is_a_module_of_the_project():
    from workflow_scripts.study.datasets import DATASETS

    for entry in DATASETS.values():
        module = entry.reader.partition(":")[0]
        assert modules_of([module])[0].startswith("workflow_scripts"), entry.name
        assert Path(ROOT, *module.split(".")).with_suffix(".py").is_file()


def test_a_module_that_does_not_parse_is_named_with_its_line(package):
    lib = package / "workflow_scripts" / "lib.py"
    lib.write_text(LIB + "\ndef broken(:\n")
    with pytest.raises(SyntaxError) as error:
        stage_digest("step", root=package)
    assert error.value.filename == str(lib) and error.value.lineno == LIB.count("\n") + 2
