"""workflow_scripts.run_study, what `make run` does after the config check: which Snakemake
calls it makes for the user's ARGS, when it builds the report, and the stale mark a failed
run leaves on the results."""

import pytest

from workflow_scripts import run_study

BASE = ["my.yaml", "2"]  # CONFIG and CORES, as make run passes them
# what Snakemake gets after the user's ARGS: --configfile last, so that it takes no target
SETTINGS = ["--cores", "2", "--configfile", "my.yaml"]
CONFIG_ARGS = ["--config", "mtfl={path: /elsewhere/MTFL.zip}"]


class Calls(list):
    """The Snakemake calls main() made; each answers ``fail`` (0: success)."""
    fail = 0


@pytest.fixture
def calls(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # results/ of its own
    made = Calls()

    def fake(argv):
        made.append(list(argv))
        return made.fail

    monkeypatch.setattr(run_study, "snakemake", fake)
    return made


@pytest.mark.parametrize("args", [[], ["-p"], ["--nolock"], ["--forcerun", "finetune"], ["-p", *CONFIG_ARGS], ["all"]])
def test_a_run_of_the_whole_study_builds_the_report_under_the_same_config_and_args(calls, args):
    assert run_study.main([*BASE, *args]) == 0
    assert calls == [[*args, *SETTINGS], [*args, *SETTINGS, "--report", "results/report.html"]]


@pytest.mark.parametrize("args", [["--dry-run"], ["-n"], ["-np"], ["-p", "-n", "--forcerun", "score_int8"], ["--unlock"],
                                  ["--list-changes", "params"], ["--summary"]])
def test_a_dry_run_or_a_listing_builds_no_report(calls, args):
    assert run_study.main([*BASE, *args]) == 0 and calls == [[*args, *SETTINGS]]


@pytest.mark.parametrize("args, said", [(["--until", "prepare_faces"], "--until prepare_faces"),
                                        (["--omit-from", "finetune"], "--omit-from finetune"),
                                        (["results/data/faces.csv", *CONFIG_ARGS], "the targets results/data/faces.csv")])
def test_a_partial_run_builds_no_report_and_says_why(calls, capsys, args, said):
    assert run_study.main([*BASE, *args]) == 0 and calls == [[*args, *SETTINGS]]
    assert f"make run: no report: {said} run part of the study" in capsys.readouterr().out


def test_a_failed_run_marks_summary_and_report_stale_and_the_next_whole_run_clears_it(calls, tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    summary, report = "# The answer\n\nholds.\n", "<!doctype html><html><body class=app><div id=root></div></body></html>"
    (results / "summary.md").write_text(summary)
    (results / "report.html").write_text(report)
    calls.fail = 1
    assert run_study.main(BASE) == 1 and calls == [SETTINGS]  # no report after a failure
    marked = (results / "summary.md").read_text()
    assert "Stale: the last `make run`" in marked.split("\n\n")[0] and marked.endswith(summary)
    marked_report = (results / "report.html").read_text()
    assert marked_report.index("<body class=app>") < marked_report.index("Stale: the last") < marked_report.index("id=root")
    assert (results / "STALE.md").exists()
    assert run_study.main(BASE) == 1  # failing again: one mark, not two
    assert (results / "summary.md").read_text().count("Stale:") == 1
    calls.fail = 0
    assert run_study.main([*BASE, "--until", "prepare_faces"]) == 0  # a partial run proves nothing about the rest
    assert (results / "STALE.md").exists()
    assert run_study.main(BASE) == 0
    assert (results / "summary.md").read_text() == summary and (results / "report.html").read_text() == report
    assert not (results / "STALE.md").exists()
