"""Published answers cannot go stale silently: docs/mtfl_quick/ must be the output of
today's mtfl_quick.yaml (its config hash, with the schema's defaults), and the README
must quote its answer and table as published."""

import json

import pandas as pd
import pytest

from conftest import ROOT
from workflow_scripts.report.publish import int8_finding, paper_table, readme_section
from workflow_scripts.study.config import config_hash, load_config_file

PUBLISHED = {"mtfl_quick": ROOT / "workflow_scripts" / "config" / "mtfl_quick.yaml"}
# A published study whose config no longer hashes as it did (a key added that changes what is computed)
# stands only with a mark where readers meet it: the README's line STALE_MARK, which names the key.
# The entry goes when the study is published again.
STALE = {}
STALE_MARK = "**Stale:** [`docs/{name}/`](docs/{name}/) was published before `{key}`"


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_answer_matches_todays_config(name):
    docs = ROOT / "docs" / name
    run = json.loads((docs / "run.json").read_text())
    today = config_hash(load_config_file(PUBLISHED[name]))
    if name in STALE:
        assert run["config_hash"] != today, f"docs/{name} matches today's config again: drop its STALE entry"
        assert STALE_MARK.format(name=name, key=STALE[name]) in (ROOT / "README.md").read_text()
        today = run["config_hash"]  # the published folder must still agree with itself
    assert run["config_hash"] == today, (
        f"docs/{name} was published from a config that hashed to {run['config_hash']}; {PUBLISHED[name].name} now hashes "
        f"to {today}: publish again (python -m workflow_scripts.report.publish) or restore the config")
    assert set(pd.read_csv(docs / "metrics.csv")["config_hash"]) == {today}
    assert f"config hash: `{today}`" in (docs / "README.md").read_text()


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_the_readme_quotes_the_published_table(name):
    readme = (ROOT / "README.md").read_text()
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    quoted = readme[readme.index(begin) + len(begin):readme.index(end)].strip()
    summary = (ROOT / "docs" / name / "summary.md").read_text()
    assert quoted == readme_section(summary)
    assert quoted.startswith("**On ") and paper_table(summary) in quoted
    if int8_finding(summary):  # a summary with int8 scores: the README says whether the verdict holds at int8
        assert quoted.endswith(int8_finding(summary)) and int8_finding(summary).startswith("The verdict ")
