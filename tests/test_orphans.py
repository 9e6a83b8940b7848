"""workflow_scripts.orphans, the recovery after kill -9 of docs/workflow.md: the killed run's
jobs are found by their folder as plain text, whatever characters its path holds."""

import subprocess
import sys

from workflow_scripts.orphans import main, running_jobs


def test_jobs_of_a_folder_with_pattern_characters_are_found_and_stopped(tmp_path, capsys):
    folder = tmp_path / "study+1 (copy)"
    other = tmp_path / "study1 (copy)"  # what "+" would make of "study+1" as a pattern: none of ours
    scripts = folder / ".snakemake" / "scripts"
    scripts.mkdir(parents=True)
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    job = subprocess.Popen([*sleeper, str(scripts / "tmpab12.finetune.py")])
    stranger = subprocess.Popen([*sleeper, str(other / ".snakemake" / "scripts" / "tmpcd34.finetune.py")])
    try:
        assert list(running_jobs(folder)) == [job.pid]
        # the pattern pgrep -f makes of the path finds nothing ("+" repeats the "y", the parentheses group)
        pattern = subprocess.run(["pgrep", "-af", f"{folder}/.snakemake/scripts"], capture_output=True, text=True)
        assert str(job.pid) not in pattern.stdout.split()
        assert main(["--stop", str(folder)]) == 0
        assert job.poll() is not None and stranger.poll() is None  # SIGTERM to ours alone, and it ended
        assert f"{job.pid} " in capsys.readouterr().out
        assert running_jobs(folder) == {}
    finally:
        for process in (job, stranger):
            process.kill()
            process.wait()
