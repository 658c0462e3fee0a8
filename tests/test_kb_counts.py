"""``scripts/kb_counts.py``: the per-family win share that decides which boosting libraries are core."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "kb_counts.py"


def _kb_counts():
    spec = importlib.util.spec_from_file_location("kb_counts", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _kb(scores: dict[tuple[int, str], list[float]]) -> SimpleNamespace:
    configs, runs = [], []
    for (dataset, family), values in scores.items():
        for i, value in enumerate(values):
            cid = f"{family}-{i}"
            configs.append({"id": cid, "task": "regression", "family": family})
            runs.append({"dataset_id": dataset, "config_id": cid, "mean_score": value,
                         "status": "failed" if value != value else "ok"})
    datasets = pd.DataFrame({"id": [1, 2, 3], "task": "regression", "name": ["a", "b", "c"]})
    return SimpleNamespace(runs=pd.DataFrame(runs), configs=pd.DataFrame(configs).drop_duplicates("id"),
                           datasets=datasets)


def test_win_share_counts_only_datasets_where_every_family_was_evaluated():
    nan = float("nan")
    kb = _kb({(1, "a"): [0.9, 0.1], (1, "b"): [0.5, 0.4],   # a wins
              (2, "a"): [0.3, 0.3], (2, "b"): [0.3, 0.2],   # a tie: half a win each
              (3, "a"): [0.1, 0.2], (3, "b"): [0.8]})       # b ran only half its pool: left out
    wins = _kb_counts().family_wins(kb).set_index("family")
    assert wins.loc["a", "win_share"] == 0.75 and wins.loc["b", "win_share"] == 0.25
    assert (wins["datasets"] == 2).all()
    assert wins.loc["a", "mean_closeness"] == 1.0 and wins.loc["b", "mean_closeness"] == 0.5
    kb_failed = _kb({(1, "a"): [0.9], (1, "b"): [nan], (2, "a"): [0.2], (2, "b"): [0.4]})
    wins = _kb_counts().family_wins(kb_failed).set_index("family")
    assert wins.loc["b", "win_share"] == 1.0 and (wins["datasets"] == 1).all()  # b never ran ok on 1
