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


@pytest.mark.parametrize(("args", "words"), [
    (["recommend", "x.csv", "--top", "0"], "--top: must be at least 1, not 0"),
    (["recommend", "x.csv", "--top", "two"], "expected an integer, not 'two'"),
    (["optimize", "x.csv", "--n-trials", "-5"], "--n-trials: must be at least 1"),
    (["optimize", "x.csv", "--cv", "1"], "--cv: must be at least 2"),
    (["optimize", "x.csv", "--time-budget", "0"], "positive number of seconds, not '0'"),
    (["optimize", "x.csv", "--time-budget", "nan"], "positive number of seconds, not 'nan'"),
])
def test_out_of_range_numbers_are_usage_errors_naming_the_option(args, words, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2 and words in capsys.readouterr().err


def test_debug_shows_traceback(mixed_csv, capsys):
    assert main(["--debug", "recommend", str(mixed_csv), "--target", "why"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_kb_info(capsys):
    assert main(["kb", "info"]) == 0
    out = capsys.readouterr().out
    for needle in ("datasets per task", "configurations per task", "runs:", "failed/timeout share", "versions:",
                   "build command:"):
        assert needle in out


def _digit_folder(root):
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    for c in range(3):
        (root / f"class{c}").mkdir(parents=True)
        for j, i in enumerate(np.flatnonzero(digits.target == c)[:2]):
            img = (255 - digits.images[i] * 16).astype(np.uint8)
            Image.fromarray(img).resize((28, 28)).save(root / f"class{c}" / f"{j}.png")
    return root


def test_few_shot_recommend_and_predict(tmp_path, capsys):
    pytest.importorskip("PIL")
    folder = _digit_folder(tmp_path / "support")
    assert main(["few-shot", "recommend", str(folder), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["recipe"] and payload["backbone_id"]
    pytest.importorskip("torch")
    query = next((folder / "class1").iterdir())
    assert main(["few-shot", "predict", str(folder), str(query)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(str(query)) and line.split("\t")[1] in {"class0", "class1", "class2"}


def test_kb_build_help_reaches_the_builder(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["kb", "build", "--help"])
    assert exc.value.code == 0 and "usage: build_knowledge_base" in capsys.readouterr().out


def test_errors_name_the_command_line_fix(mixed_csv, capsys):
    df = pd.read_csv(mixed_csv)
    df["mixed"] = ["a", 1.5] * 60
    df.to_pickle(mixed_csv.with_suffix(".pkl"))  # keeps the mixed types a CSV would flatten
    from metalearn.cli import cli_spelling

    assert cli_spelling("declare it, e.g. column_types={'mixed': 'categorical'}, or drop=['mixed', 'Unnamed: 0']"
                        ) == "declare it, e.g. --column-type mixed=categorical, or --drop mixed 'Unnamed: 0'"
    assert cli_spelling("use task='regression'\nor pass target=NAME") == "use --task regression or pass --target NAME"
    assert main(["recommend", str(mixed_csv), "--target", "y", "--column-type", "city=numeric"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "column 'city' was declared numeric" in err


def test_class_with_one_sample_is_one_line(tmp_path, capsys):
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=40), "y": ["x", "z"] * 19 + ["x", "lonely"]})
    df.to_csv(tmp_path / "one.csv", index=False)
    assert main(["-q", "optimize", str(tmp_path / "one.csv"), "--target", "y", "--n-trials", "1", "--cv", "2"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "['lonely'] have only 1 sample" in err and "Traceback" not in err


def test_output_path_is_checked_before_the_search(mixed_csv, tmp_path, capsys):
    args = ["optimize", str(mixed_csv), "--target", "y", "--n-trials", "1"]
    assert main(args + ["--output", str(tmp_path / "missing" / "m.joblib")]) == 1
    assert "the folder" in capsys.readouterr().err
    assert main(args + ["--output", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "is a directory" in err and "Dataset" not in err  # nothing was loaded or searched


def test_drop_and_column_type_options_and_describe(mixed_csv, capsys):
    assert main(["recommend", str(mixed_csv), "--target", "y", "--top", "1", "--drop", "city",
                 "--column-type", "age=categorical"]) == 0
    out = capsys.readouterr().out
    assert "city    dropped      drop=" in out and "age     categorical  column_types override" in out


def test_predict_needs_a_model_file(mixed_csv, tmp_path, capsys):
    assert main(["predict", str(tmp_path / "none.joblib"), str(mixed_csv)]) == 1
    assert "no model file" in capsys.readouterr().err
    (tmp_path / "junk.joblib").write_bytes(b"not a model")
    assert main(["predict", str(tmp_path / "junk.joblib"), str(mixed_csv)]) == 1
    assert "cannot read the model" in capsys.readouterr().err


@pytest.mark.slow
def test_optimize_then_predict_reads_the_raw_file(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 80
    df = pd.DataFrame({"when": pd.date_range("2022-01-01", periods=n).strftime("%Y-%m-%d"),
                       "size": rng.normal(size=n), "y": rng.choice(["no", "yes"], n)})
    df.to_csv(tmp_path / "train.csv")  # with its index column
    model = tmp_path / "m.joblib"
    assert main(["-q", "optimize", str(tmp_path / "train.csv"), "--target", "y", "--n-trials", "1", "--cv", "2",
                 "--json", "--output", str(model)]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["metric"] == "balanced_accuracy" and payload["elapsed_s"] > 0
    df.drop(columns=["y"]).to_csv(tmp_path / "new.csv", index=False)  # without the index the model drops
    assert main(["predict", str(model), str(tmp_path / "new.csv"), "--proba", "--output", str(tmp_path / "p.csv")]) == 0
    preds = pd.read_csv(tmp_path / "p.csv")
    assert list(preds.columns) == ["proba_no", "proba_yes"] and len(preds) == n


def test_broken_pipe_exits_quietly(tmp_path):
    import subprocess
    import sys

    code = ("import sys, metalearn.cli as c\n"
            "def flood(args):\n"
            "    for i in range(100000): print('line', i)\n"
            "    return 0\n"
            "c.cmd_kb = flood\n"
            "sys.exit(c.main(['kb', 'info']))\n")
    proc = subprocess.run(f"{sys.executable} -c \"{code}\" | head -1", shell=True, capture_output=True, text=True,
                          executable="/bin/bash")
    assert proc.stdout == "line 0\n" and proc.stderr == ""


def test_few_shot_predict_reads_a_support_and_query_folder(tmp_path, capsys):
    pytest.importorskip("PIL")
    pytest.importorskip("torch")
    from PIL import Image

    user = tmp_path / "user"
    _digit_folder(user / "support")
    (user / "query").mkdir()
    for c in range(3):  # the first drawing of each class, queried again: the answer is its class
        Image.open(user / "support" / f"class{c}" / "0.png").save(user / "query" / f"q{c}.png")
    assert main(["few-shot", "predict", str(user)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [ln.split("\t")[0] for ln in lines] == [str(user / "query" / f"q{c}.png") for c in range(3)]
    assert all(ln.split("\t")[1] in {"class0", "class1", "class2"} for ln in lines)
    assert main(["few-shot", "predict", str(user / "support"), str(user / "query")]) == 0  # a query folder
    assert len(capsys.readouterr().out.strip().splitlines()) == 3
    assert main(["few-shot", "predict", str(user / "support")]) == 1  # no queries anywhere: one clear line
    assert "no query images" in capsys.readouterr().err
