"""requirements.txt (pip) and environment.yml (conda) must list the same pinned packages."""

import re

from nbtools import ROOT

PIN = re.compile(r"^\s*-?\s*([A-Za-z0-9_.\-\[\]]+)==([^\s#]+)")


def pins(lines):
    found = {}
    for line in lines:
        match = PIN.match(line)
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def test_requirements_are_exact_pins():
    lines = [ln for ln in (ROOT / "requirements.txt").read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    assert lines and all("==" in ln for ln in lines), "every requirement must be pinned with =="
    assert pins(lines)["torch"] == "2.14.1" and pins(lines)["torchvision"] == "0.29.1"


def test_environment_yml_lists_the_same_packages():
    requirements = pins((ROOT / "requirements.txt").read_text().splitlines())
    env_text = (ROOT / "environment.yml").read_text()
    pip_section = env_text.split("- pip:", 1)[1].splitlines()
    environment = pins(pip_section)
    assert environment == requirements
    assert "python=3.11" in env_text
