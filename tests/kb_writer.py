"""A child process that appends runs to a user KB, optionally SIGKILLing itself right after one step of the write.

Not a test module: ``test_user_kb.py`` runs it as ``python kb_writer.py USER_KB BASE NAME [--times N]
[--kill-after STEP]``. It prints ``done NAME I`` (flushed) after each append returns.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

import metalearn
import metalearn.kb._user as user_module
from metalearn.kb import add_runs

TASK = "classification"
#: Steps of a write after which the process can be killed (functions of metalearn.kb._user, or os.replace).
STEPS = ("copy_base", "_store_rows", "_fsync", "replace", "write_manifest", "remove_strays", "half_copy")


def history(seed: int) -> pd.DataFrame:
    """Three runs: two family defaults and one random configuration."""
    space = metalearn.get_space(TASK)
    configs = [space.default("linear"), space.default("knn"), space.sample(np.random.default_rng(seed))]
    return pd.DataFrame({"config": configs, "score": [0.7, 0.6, 0.5], "status": ["ok"] * 3})


def dataset(seed: int, name: str):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 3))
    return metalearn.load_dataset((X, (X[:, 0] > 0).astype(int)), name=name)


def _die(*_args, **_kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


def _after(fn):
    def wrapped(*args, **kwargs):
        out = fn(*args, **kwargs)
        _die()
        return out

    return wrapped


class _OsKillingOnReplace:
    """``os`` for metalearn.kb._user, except that ``replace`` kills the process once it has renamed."""

    def __getattr__(self, name):
        return getattr(os, name)

    @staticmethod
    def replace(src, dst):
        os.replace(src, dst)
        _die()


def _half_copy(base, target):
    """Copy half of the base database, then die: a truncated temporary file."""
    source = metalearn.kb.default_kb_path() if base is None else base
    source = source / "kb.sqlite" if source.is_dir() else source
    data = source.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    _die()


def arm(step: str) -> None:
    """Make the next write die right after ``step``."""
    if step == "replace":
        user_module.os = _OsKillingOnReplace()
    elif step == "half_copy":
        user_module.copy_base = _half_copy
    else:
        setattr(user_module, step, _after(getattr(user_module, step)))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("user_kb")
    ap.add_argument("base")
    ap.add_argument("name")
    ap.add_argument("--times", type=int, default=1)
    ap.add_argument("--kill-after", choices=STEPS)
    args = ap.parse_args(argv)
    if args.kill_after:
        arm(args.kill_after)

    for i in range(args.times):
        name = f"{args.name}_{i}"
        add_runs(history(i), dataset(zlib.crc32(name.encode()), name), args.user_kb, metric="balanced_accuracy",
                 metafeatures={"NumberOfInstances": 40.0}, base=Path(args.base), name=name)
        print(f"done {name}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
