"""The metalearn command: exit codes, one-line errors, readable and JSON output."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from metalearn.cli import main


@pytest.fixture()
def mixed_csv(tmp_path):
    rng = np.random.default_rng(0)
    n = 120
    df = pd.DataFrame({
        "age": rng.integers(18, 80, n).astype(float),
        "city": rng.choice(["Lyon", "Paris", "Nice"], n),
        "income": rng.normal(3000, 800, n),
        "y": rng.choice(["no", "yes"], n),
    })
    df.loc[[2, 5, 9], "age"] = np.nan
    df.loc[[4], "city"] = None
    path = tmp_path / "people.csv"
    df.to_csv(path, index=False)
    return path


def test_recommend_prints_table_and_explanation(mixed_csv, capsys):
    assert main(["recommend", str(mixed_csv), "--target", "y", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "rank" in out and "configuration" in out
    assert "Recommendation for 'people'" in out
    assert "Most similar knowledge-base datasets" in out


def test_recommend_json_parses(mixed_csv, capsys):
    assert main(["recommend", str(mixed_csv), "--target", "y", "--top", "2", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert len(payload["recommendations"]) == 2
    assert payload["task"] == "classification"


def test_bad_input_is_one_line_and_exit_code_1(mixed_csv, capsys):
    assert main(["recommend", str(mixed_csv), "--target", "why"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "did you mean 'y'" in err and "Traceback" not in err


def test_missing_file_exit_code_1(capsys):
    assert main(["recommend", "does-not-exist.csv"]) == 1
    assert "no such file" in capsys.readouterr().err


def test_usage_error_exit_code_2():
    with pytest.raises(SystemExit) as exc:
        main(["recommend"])
    assert exc.value.code == 2


def test_debug_shows_traceback(mixed_csv, capsys):
    assert main(["--debug", "recommend", str(mixed_csv), "--target", "why"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_kb_info(capsys):
    assert main(["kb", "info"]) == 0
    out = capsys.readouterr().out
    for needle in ("datasets per task", "configurations per task", "runs:", "failed/timeout share", "versions:",
                   "build command:"):
        assert needle in out
