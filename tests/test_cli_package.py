"""The CLI package: every command group declares its commands, `report` and its older name
`inbox-report` are one command, and `triage --help` stays light."""
import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from triage import cli, keys

ROOT = Path(__file__).resolve().parent.parent


def commands():
    parser = argparse.ArgumentParser(prog="triage")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in cli.COMMANDS:
        group.add_parser(sub)
    return parser, sub.choices


def test_every_command_has_a_function_from_its_own_group():
    _, choices = commands()
    groups = {group.__name__ for group in cli.COMMANDS}
    for name, parser in choices.items():
        func = parser.get_default("func")
        assert callable(func), name
        assert func.__module__ in groups, name


def test_report_and_its_older_name_are_one_command():
    parser, choices = commands()
    assert choices["report"] is choices["inbox-report"]
    new = parser.parse_args(["report", "--format", "json", "--staff", "ana"])
    old = parser.parse_args(["inbox-report", "--format", "json", "--staff", "ana"])
    assert new.func is old.func and (new.format, new.staff) == (old.format, old.staff) == ("json", "ana")


def test_a_command_line_mistake_is_one_error_line_and_exit_1(monkeypatch, capsys):
    monkeypatch.setenv(keys.ENV_FILE, str(ROOT / "no-such-keyring.json"))  # keep the dev keyring out of os.environ
    assert cli.main(["report"]) == 1
    assert capsys.readouterr().err == "triage: error: --staff ID is required (exporting a report is audited)\n"


def test_python_dash_m_and_help_without_tensorflow():
    """`python -m triage.cli` is the console script; the help needs no model, so it must not load TensorFlow."""
    probe = ("import runpy, sys\n"
             "try:\n"
             "    runpy.run_module('triage.cli', run_name='__main__')\n"
             "except SystemExit as exc:\n"
             "    print('exit', exc.code, 'tensorflow' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", probe, "--help"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert "triage report --staff ID" in result.stdout
    assert result.stdout.strip().endswith("exit 0 False"), result.stdout[-300:] + result.stderr[-2000:]


@pytest.mark.parametrize("argv", [["report", "--help"], ["inbox-report", "--help"]])
def test_both_names_show_the_report_options(argv, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(argv)
    assert done.value.code == 0
    assert "--format {csv,json}" in capsys.readouterr().out
