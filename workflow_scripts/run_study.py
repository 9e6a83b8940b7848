"""What ``make run`` does once the config is checked: Snakemake with the user's arguments,
then the report, and a mark on results that a failed run leaves behind.

    python -m workflow_scripts.run_study CONFIG CORES [SNAKEMAKE ARGS...]

runs ``snakemake ARGS --cores CORES --configfile CONFIG``: the config file goes last, since
``--configfile`` takes every word after it, and a target in ARGS would become a config file.

The report (``snakemake --report results/report.html``) is built only after a run of the
whole study: a dry run, a listing or a partial run (targets, ``--until``, ``--omit-from``,
``--allowed-rules``) builds none and says so, since the report needs every file it shows.
A run that fails leaves the last good ``results/summary.md`` and ``results/report.html``
in place: both get a line saying they are stale, with ``results/STALE.md`` telling why;
the next whole run that succeeds takes the mark off.
"""

import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path("results")
REPORT = RESULTS / "report.html"
SUMMARY = RESULTS / "summary.md"
STALE = RESULTS / "STALE.md"
BEGIN, END = "<!-- stale:begin -->", "<!-- stale:end -->"

# Snakemake options under which it runs no job of the study (it lists, draws, checks, cleans)
NOT_A_RUN = ("dryrun", "touch", "lint", "generate_unit_tests", "containerize", "export_cwl", "list_rules",
             "list_target_rules", "dag", "rulegraph", "filegraph", "d3dag", "summary", "detailed_summary", "archive",
             "cleanup_metadata", "cleanup_shadow", "unlock", "list_changes", "list_input_changes",
             "list_params_changes", "list_untracked", "delete_all_output", "delete_temp_output", "print_compilation",
             "list_conda_envs", "conda_cleanup_envs", "conda_create_envs_only", "report", "debug_dag")
# options that run part of the study only
PARTIAL = {"until": "--until", "omit_from": "--omit-from", "allowed_rules": "--allowed-rules", "target_jobs": "--target-jobs"}


def parse_snakemake_args(argv):
    """``argv`` as Snakemake's own command line reads it."""
    from snakemake.cli import get_argument_parser

    return get_argument_parser().parse_args(argv)


def runs_jobs(args) -> bool:
    """True when Snakemake, given ``args``, runs jobs of the study (not a dry run or a listing)."""
    return not any(getattr(args, name, None) for name in NOT_A_RUN)


def partial_reason(args) -> str | None:
    """Why a run of ``args`` covers only part of the study (None when it covers all of it)."""
    for name, option in PARTIAL.items():
        if getattr(args, name, None):
            return f"{option} {' '.join(map(str, sorted(getattr(args, name))))}"
    targets = [target for target in args.targets or [] if target != "all"]
    if targets:
        return f"the targets {' '.join(targets)}"
    return None


def stale_text(reason: str) -> str:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return (f"Stale: the last `make run` ({when}) failed ({reason}); what stands here is from an earlier run "
            "and may not match the current config or code. Rerun `make run`; results/STALE.md says more.")


def clear_stale(results: Path = RESULTS):
    """Take the stale mark off the summary and the report, and remove STALE.md."""
    for path in (results / SUMMARY.name, results / REPORT.name):
        if path.exists():
            text = path.read_text(errors="surrogateescape")
            if BEGIN in text and END in text:
                start, stop = text.index(BEGIN), text.index(END) + len(END)
                path.write_text(text[:start] + text[stop:].removeprefix("\n"), errors="surrogateescape")
    (results / STALE.name).unlink(missing_ok=True)


def mark_stale(reason: str, results: Path = RESULTS):
    """Put a line a reader sees first on the summary and the report (where they exist), and
    write STALE.md with the reason."""
    clear_stale(results)
    if not results.exists():
        return
    line = stale_text(reason)
    summary, report = results / SUMMARY.name, results / REPORT.name
    if summary.exists():
        summary.write_text(f"{BEGIN}\n> **{line}**\n\n{END}\n" + summary.read_text())
    if report.exists():
        text = report.read_text(errors="surrogateescape")
        banner = (f'{BEGIN}<div style="background:#b00020;color:#fff;padding:0.8em;font:1.1em sans-serif">'
                  f"{line}</div>{END}")
        body = text.find("<body")
        at = text.index(">", body) + 1 if body >= 0 else 0
        report.write_text(text[:at] + banner + text[at:], errors="surrogateescape")
    (results / STALE.name).write_text(
        f"# {line}\n\nThe summary and the report carry the same line until a `make run` of the whole study "
        "succeeds. What failed is in Snakemake's log (`.snakemake/log/`) and the job logs under `results/logs/`.\n")


def snakemake(argv) -> int:
    return subprocess.run([sys.executable, "-m", "snakemake", *argv]).returncode


def main(argv) -> int:
    config, cores, *given = argv
    argv = [*given, "--cores", cores, "--configfile", config]
    args = parse_snakemake_args(argv)
    if not runs_jobs(args):
        return snakemake(argv)
    code = snakemake(argv)
    if code != 0:
        mark_stale(f"snakemake exit status {code}")
        print(f"make run: Snakemake failed; {SUMMARY} and {REPORT} are marked stale ({STALE})", file=sys.stderr)
        return code
    partial = partial_reason(args)
    if partial is not None:
        print(f"make run: no report: {partial} run part of the study, and the report needs all of it "
              f"(make run without them builds {REPORT})")
        return 0
    code = snakemake([*argv, "--report", str(REPORT)])
    if code != 0:
        mark_stale(f"the report could not be built, snakemake exit status {code}")
        return code
    clear_stale()
    print(f"The study's answer: {SUMMARY}; every figure and table: {REPORT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
