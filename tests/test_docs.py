"""The documentation and the examples: the API page lists the public surface, Sphinx builds
the docs without warnings, every example runs, and CI installs what the README says."""

import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import pytest

import hyperspy_cs

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = sorted((ROOT / "examples").glob("plot_*.py"))
# The examples promise to run in under a minute on two cores; the margin is for
# a loaded machine and the first call's numba compilation.
EXAMPLE_TIMEOUT = 120


def test_api_page_lists_the_public_surface():
    text = (DOCS / "api.rst").read_text()
    listed = set()
    for block in re.findall(r"\.\. autosummary::\n((?:   .*\n|\n)+)", text):
        listed |= {line.strip() for line in block.splitlines()
                   if line.strip() and not line.strip().startswith(":")}
    assert listed == set(hyperspy_cs.__all__), "docs/api.rst and hyperspy_cs.__all__ differ"


def test_docs_build_without_warnings(tmp_path):
    # Not a skip: the README's install command brings Sphinx (the docs extra),
    # and a docs build that silently stops running is how docs rot.
    if importlib.util.find_spec("sphinx") is None:
        pytest.fail("Sphinx is not installed: python -m pip install -e '.[test,docs]'")
    # The gallery is rendered but not executed (see docs/conf.py):
    # test_example_runs runs each example.
    env = {**os.environ, "HYPERSPY_CS_DOCS_RUN_GALLERY": "0", "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-5000:]
    html = tmp_path / "html"
    assert (html / "api.html").exists()
    assert (html / "generated" / "hyperspy_cs.compare.html").exists()
    # Every example has its gallery page.
    for example in EXAMPLES:
        assert (html / "auto_examples" / f"{example.stem}.html").exists(), example.name


@pytest.mark.slow
@pytest.mark.parametrize("example", EXAMPLES, ids=[e.stem for e in EXAMPLES])
def test_example_runs(tmp_path, example):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, str(example)], cwd=tmp_path, capture_output=True,
                          text=True, env=env, timeout=EXAMPLE_TIMEOUT)
    assert done.returncode == 0, done.stderr[-5000:]
    assert not list(tmp_path.iterdir()), "an example left files in the working folder"


def test_ci_installs_and_runs_what_the_readme_says():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    for section in ("Install and run the demo", "Run the tests"):
        block = re.search(rf"## {section}\n\n```bash\n(.*?)```", readme, re.S)
        assert block, f"README.md has no bash block under '## {section}'"
        for command in block.group(1).splitlines():
            assert command in ci, f".ci/run does not run the README's {command!r}"
    assert "[test,docs]" in readme  # the docs test above needs the docs extra
