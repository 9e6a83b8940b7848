"""The layout's promises: what Snakemake imports to build the DAG pulls in no torch (a
dry run, --lint and the config check stay quick, and run where torch is not installed),
nor do the modules of the stages that read and write tables (a job would spend about 2.5
CPU seconds loading it for nothing), and docs/workflow.md's code map lists every module
there is."""

import functools
import json
import os
import re
import subprocess
import sys
import textwrap

from conftest import ROOT

PACKAGE = ROOT / "workflow_scripts"
DAG_FILES = [ROOT / "Snakefile", *sorted((ROOT / "rules").glob("*.smk"))]
IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+workflow_scripts\b[\w.]*[ \t]+import[ \t]+(?:\([^)]*\)|[^\n]*)"
                    r"|import[ \t]+workflow_scripts\b[^\n]*)", re.M)

# Run in a fresh interpreter: record which workflow_scripts frame first asks for torch,
# run the code given, then report what was imported.
PROBE = textwrap.dedent("""
    import json, sys, traceback

    class TorchSpy:
        importer = None

        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "torch" and TorchSpy.importer is None:
                frames = [f for f in traceback.extract_stack() if "workflow_scripts" in f.filename]
                TorchSpy.importer = " <- ".join(f"{f.filename}:{f.lineno} {f.line}" for f in reversed(frames))
            return None

    sys.meta_path.insert(0, TorchSpy())
    try:
        exec(sys.argv[1], {})
    except SystemExit:
        pass
    print(json.dumps({"torch": "torch" in sys.modules, "importer": TorchSpy.importer,
                      "modules": sorted(m for m in sys.modules if m.startswith("workflow_scripts."))}))
""")


def probe(code: str, cwd=ROOT) -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE, code], cwd=cwd, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def dag_import_statements() -> list[tuple[str, str]]:
    """(file, statement) for every import of workflow_scripts in the Snakefile and rules/,
    those inside functions included (they run while the DAG is built)."""
    return [(str(path.relative_to(ROOT)), textwrap.dedent(match[0]).strip())
            for path in DAG_FILES for match in IMPORT.finditer(path.read_text())]


@functools.cache
def rules_imports() -> dict:
    return probe("\n".join(statement for _, statement in dag_import_statements()))


def test_what_the_rules_import_pulls_in_no_torch():
    statements = dag_import_statements()
    files = {path for path, _ in statements}
    assert {"Snakefile", "rules/common.smk"} <= files, f"no workflow_scripts import found in {sorted(files)}"
    report = rules_imports()
    assert not report["torch"], (
        "importing what the Snakefile and rules import pulls in torch, first here: "
        f"{report['importer']} (statements: {[s for _, s in statements]}); import torch inside the "
        "functions that need it, or keep the module out of the rules")
    # the probe imported something: each statement's modules are in sys.modules
    assert len(report["modules"]) >= len(statements)


def test_building_the_dag_pulls_in_no_torch(tmp_path):
    """A whole dry run of the default config, in one interpreter: the input functions the
    DAG calls (and what they import inside) included."""
    argv = ["-n", "--cores", "1", "--directory", str(tmp_path), "--snakefile", str(ROOT / "Snakefile"),
            "--configfile", str(ROOT / "config.yaml")]
    report = probe(f"from snakemake.cli import main\nmain({argv!r})", cwd=tmp_path)
    assert not report["torch"], f"a dry run pulls in torch, first here: {report['importer']}"
    assert set(rules_imports()["modules"]) <= set(report["modules"]), "the dry run did not build the DAG"


# the stages that read and write tables and figures: their modules import no torch (the ones
# that read a saved network, collect_metrics' source networks, and ZigZag's, which builds
# the network it counts, load it then, and only then)
TABLE_STAGES = ["split_roles", "draw_subsets", "collect_metrics", "collect_int8_metrics", "paper_endpoint",
                "estimate_layer_energy", "all_tasks_energy", "analyse_results", "plot_figures"]


def test_the_table_stages_import_no_torch():
    stages = PACKAGE / "stages"
    for stage in TABLE_STAGES:
        source = (stages / f"{stage}.py").read_text()
        imports = "\n".join(line for line in source.splitlines() if re.match(r"(from|import) ", line))
        assert "workflow_scripts" in imports, stage
        report = probe(imports)
        assert not report["torch"], f"stages/{stage}.py's imports pull in torch, first here: {report['importer']}"


def code_map() -> list[str]:
    """The first column of the table in docs/workflow.md's "Code layout" section."""
    text = (ROOT / "docs" / "workflow.md").read_text()
    section = text[text.index("## Code layout"):]
    section = section[:section.index("\n## ")]
    return re.findall(r"^\| `([^`]+)` \|", section, re.M)


def test_the_code_map_lists_every_module():
    listed = code_map()
    modules = [path.relative_to(PACKAGE) for path in PACKAGE.rglob("*.py")
               if path.name != "__init__.py" and "stages" not in path.relative_to(PACKAGE).parts]
    packages = [path.parent.relative_to(PACKAGE) for path in PACKAGE.glob("*/__init__.py")]
    expected = {str(m) for m in modules} | {f"{p}/" for p in packages}
    assert len(modules) > 20 and "stages/" in expected
    missing = sorted(expected - set(listed))
    assert not missing, f"docs/workflow.md's code map (## Code layout) leaves out: {', '.join(missing)}"
    gone = sorted(set(listed) - expected)
    assert not gone, f"docs/workflow.md's code map lists what is not in workflow_scripts/: {', '.join(gone)}"
    assert len(listed) == len(set(listed)), "docs/workflow.md's code map lists a module twice"
