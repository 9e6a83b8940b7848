"""requirements.txt (the venv) and envs/*.yaml (conda, for --sdm conda) pin the same versions."""

import re

import pytest
import yaml

from conftest import ROOT

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)")


def pins(lines):
    found = {}
    for line in lines:
        match = PIN.match(line.strip())
        if match:
            found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


def requirement_pins():
    return pins((ROOT / "requirements.txt").read_text().splitlines())


def env_pins(path):
    env = yaml.safe_load(path.read_text())
    pip_lines = [item for dep in env["dependencies"] if isinstance(dep, dict) for item in dep.get("pip", [])]
    conda_lines = [dep.replace("=", "==", 1) for dep in env["dependencies"] if isinstance(dep, str) and "=" in dep]
    return pins(pip_lines), pins(conda_lines)


def test_requirements_pin_every_line_exactly():
    lines = [l for l in (ROOT / "requirements.txt").read_text().splitlines() if l.strip() and not l.startswith("#")]
    assert len(requirement_pins()) == len(lines), "every requirement is pinned with =="
    assert requirement_pins()["torch"] == "2.14.1" and requirement_pins()["torchvision"] == "0.29.1"


@pytest.mark.parametrize("env", sorted((ROOT / "envs").glob("*.yaml")), ids=lambda p: p.name)
def test_env_pins_agree_with_requirements(env):
    pip, conda = env_pins(env)
    required = requirement_pins()
    assert pip, f"{env.name} pins nothing"
    for name, version in pip.items():
        assert required.get(name) == version, f"{env.name}: {name}=={version}, requirements.txt has {required.get(name)}"
    assert conda.get("python", "").startswith("3.11")


def test_every_rule_declares_an_existing_conda_env():
    for rule_file in sorted((ROOT / "rules").glob("*.smk")):
        text = rule_file.read_text()
        rules = re.findall(r"^\s*rule (\w+):", text, flags=re.M)
        envs = re.findall(r'conda:\s*\n\s*"\.\./(envs/[\w.]+)"', text)
        assert len(envs) == len(rules), f"{rule_file.name}: {len(rules)} rules, {len(envs)} conda envs"
        for env in envs:
            assert (ROOT / env).exists(), env
