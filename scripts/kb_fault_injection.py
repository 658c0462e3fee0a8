"""Fault injection for the user knowledge base: SIGKILL rounds and concurrent-writer rounds.

SIGKILL rounds: one child process appends runs to a user KB in a loop,
printing each write it saw return; it is SIGKILLed at a random moment. The KB
must then open (or, before any acknowledged write, not exist), and hold every
acknowledged write: "nothing lost".

Concurrency rounds: several processes make their first writes to a fresh user
KB at once; every write must be in the KB afterwards.

Only public API is used (``metalearn.kb.add_runs``, ``KnowledgeBase.open``,
``repair_user_kb``).

Builder rounds (``--builder-rounds N``): a build of a small two-dataset folder
(``scripts/build_knowledge_base.py local``) is SIGKILLed at a random moment,
serially or with two workers, then resumed to the end. Every run stored before
the kill must still be there, the resumed build must be complete, and no
worker of the killed build may outlive it by more than its evaluation in
progress.

Usage::

    python scripts/kb_fault_injection.py --rounds 20 --writers 4 --seed 0
    python scripts/kb_fault_injection.py --base metalearn/kb_data --rounds 5   # base KB to copy on first write
    python scripts/kb_fault_injection.py --rounds 0 --builder-rounds 10       # the builder's rounds alone
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

import metalearn
from metalearn.exceptions import KnowledgeBaseError
from metalearn.kb import KnowledgeBase, add_runs, repair_user_kb

TASK = "classification"


def child(user: str, base: str | None, prefix: str, times: int) -> int:
    """Append ``times`` small searches to ``user``, printing ``done NAME`` after each returns."""
    space = metalearn.get_space(TASK)
    print("ready", flush=True)
    for i in range(times):
        name = f"{prefix}_{i}"
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        X = rng.normal(size=(40, 3))
        ds = metalearn.load_dataset((X, (X[:, 0] > 0).astype(int)), name=name)
        history = pd.DataFrame({"config": [space.default("linear"), space.sample(rng)], "score": [0.7, 0.6],
                                "status": ["ok", "ok"]})
        add_runs(history, ds, user, metric="balanced_accuracy", metafeatures={"NumberOfInstances": 40.0},
                 base=None if base is None else Path(base), name=name)
        print(f"done {name}", flush=True)
    return 0


def spawn(user: Path, base: str | None, prefix: str, times: int) -> subprocess.Popen:
    cmd = [sys.executable, __file__, "--child", str(user), prefix, str(times)] + (["--base", base] if base else [])
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def user_names(user: Path) -> tuple[set[str] | None, str]:
    """Names of the user datasets in the KB at ``user`` (None when there is no KB), and what opening said."""
    try:
        kb = KnowledgeBase.open(user)
    except KnowledgeBaseError as exc:
        return None, str(exc)
    return set(kb.datasets.loc[kb.datasets["source"] == "user", "name"]), "ok"


def sigkill_round(user: Path, base: str | None, r: int, rng: random.Random) -> dict:
    """One child appending in a loop, killed after a random delay; every acknowledged write must survive."""
    proc = spawn(user, base, f"k{r}", 50)
    proc.stdout.readline()  # "ready": imports done, the writes start now
    time.sleep(rng.uniform(0.0, 1.5))
    proc.send_signal(signal.SIGKILL)
    out, _ = proc.communicate()
    acknowledged = {line.split()[1] for line in out.splitlines() if line.startswith("done ")}
    names, opened = user_names(user)
    repaired = []
    if names is None:
        repaired = repair_user_kb(user) if user.exists() else []
        names, opened = user_names(user)
    present = {n for n in (names or set()) if n.startswith(f"k{r}_")}
    return {"round": r, "acknowledged": len(acknowledged), "lost": sorted(acknowledged - present),
            "unacknowledged_present": len(present - acknowledged), "opened": opened, "repair": repaired,
            "whole": names is not None or not acknowledged}


def concurrency_round(root: Path, base: str | None, r: int, writers: int, times: int) -> dict:
    """``writers`` processes making their first writes to one fresh user KB at once."""
    user = root / f"concurrent_{r}"
    procs = [spawn(user, base, f"c{r}w{w}", times) for w in range(writers)]
    results = [p.communicate() for p in procs]
    failed = [err.strip().splitlines()[-1] for p, (_, err) in zip(procs, results) if p.returncode != 0]
    expected = {f"c{r}w{w}_{i}" for w in range(writers) for i in range(times)}
    names, opened = user_names(user)
    return {"round": r, "writes": len(expected), "lost": sorted(expected - (names or set())), "opened": opened,
            "failed_writers": failed}


ROUNDS = {"user-sigkill": sigkill_round, "user-concurrent": concurrency_round}
BUILDER = [sys.executable, str(Path(__file__).resolve().parent / "build_knowledge_base.py"), "local"]
BUILD_OPTIONS = ["--pool-size", "6", "--per-family", "0", "--cv", "3", "--max-rows", "200", "--chunk-size", "3",
                 "--no-progress", "--reserved", "none"]


def small_pmlb(root: Path) -> Path:
    """Two small datasets (one per task) in the PMLB layout, from scikit-learn's bundled data."""
    from sklearn.datasets import load_breast_cancer, load_diabetes

    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, task, (X, y) in (("cancer", "classification", load_breast_cancer(return_X_y=True)),
                               ("diabetes", "regression", load_diabetes(return_X_y=True))):
        frame = pd.DataFrame(X[:200, :8], columns=[f"x{i}" for i in range(8)]).assign(target=y[:200])
        frame.to_csv(root / f"{name}.tsv.gz", sep="\t", index=False)
        rows.append({"name": name, "task": task, "target": "target", "n_rows": 200, "n_features": 8,
                     "n_classes": 2 if task == "classification" else None})
    pd.DataFrame(rows).to_csv(root / "manifest.csv", index=False)
    return root


def _stored_runs(db: Path) -> set[tuple]:
    import sqlite3

    if not db.exists():
        return set()
    with sqlite3.connect(db) as con:
        try:
            return set(con.execute("SELECT dataset_id, config_id FROM runs").fetchall())
        except sqlite3.OperationalError:
            return set()


def builder_round(root: Path, data: Path, r: int, rng: random.Random, n_jobs: int) -> dict:
    """SIGKILL a build at a random moment, resume it, and check what survived."""
    import psutil

    db = root / f"build-{n_jobs}-{r}.sqlite"
    proc = subprocess.Popen([*BUILDER, "--pmlb-dir", str(data), "--output", str(db), "--n-jobs", str(n_jobs),
                             *BUILD_OPTIONS], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wanted, deadline = rng.randint(1, 10), time.time() + 300
    workers = []
    while time.time() < deadline and proc.poll() is None and len(_stored_runs(db)) < wanted:
        workers = psutil.Process(proc.pid).children(recursive=True) or workers
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    before = _stored_runs(db)
    _, orphans = psutil.wait_procs(workers, timeout=120)  # the evaluation in progress may finish first
    subprocess.run([*BUILDER, "--pmlb-dir", str(data), "--output", str(db), "--n-jobs", str(n_jobs),
                    *BUILD_OPTIONS], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    after = _stored_runs(db)
    return {"round": f"builder-sigkill-{n_jobs}-jobs", "r": r, "stored_at_kill": len(before),
            "lost": len(before - after), "complete": len(after) == 12, "orphans": len(orphans)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=20, help="rounds of each kind (default 20)")
    ap.add_argument("--writers", type=int, default=4, help="concurrent writers per concurrency round")
    ap.add_argument("--times", type=int, default=2, help="writes per concurrent writer")
    ap.add_argument("--base", help="KB copied on first write (default: the shipped one)")
    ap.add_argument("--builder-rounds", type=int, default=0,
                    help="SIGKILL rounds of a small KB build, serial and with two workers each (default 0)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child", nargs=3, metavar=("USER_KB", "PREFIX", "TIMES"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child(args.child[0], args.base, args.child[1], int(args.child[2]))
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="kb-faults-") as tmp:
        root = Path(tmp)
        kills = [sigkill_round(root / "killed", args.base, r, rng) for r in range(args.rounds)]
        races = [concurrency_round(root, args.base, r, args.writers, args.times) for r in range(args.rounds)]
    for row in kills + races:
        print(json.dumps(row))
    kill_ok = sum(not k["lost"] and k["whole"] for k in kills)
    race_ok = sum(not c["lost"] and not c["failed_writers"] and c["opened"] == "ok" for c in races)
    acknowledged = sum(k["acknowledged"] for k in kills)
    print(f"SIGKILL rounds: nothing lost in {kill_ok}/{len(kills)} ({acknowledged} acknowledged writes, "
          f"{sum(len(k['lost']) for k in kills)} lost; KB whole after every kill: "
          f"{all(k['whole'] for k in kills)}; repairs needed: {sum(bool(k['repair']) for k in kills)})")
    print(f"concurrency rounds ({args.writers} writers x {args.times} first writes): nothing lost in "
          f"{race_ok}/{len(races)} ({sum(c['writes'] for c in races)} writes, "
          f"{sum(len(c['lost']) for c in races)} lost)")
    builds = []
    if args.builder_rounds:
        with tempfile.TemporaryDirectory(prefix="kb-build-faults-") as tmp:
            data = small_pmlb(Path(tmp) / "pmlb")
            builds = [builder_round(Path(tmp), data, r, rng, n_jobs) for n_jobs in (1, 2)
                      for r in range(args.builder_rounds)]
        for row in builds:
            print(json.dumps(row))
        build_ok = sum(b["lost"] == 0 and b["complete"] and b["orphans"] == 0 for b in builds)
        print(f"builder SIGKILL rounds (serial and 2 workers): nothing lost, resumed to completion and no worker "
              f"left in {build_ok}/{len(builds)} ({sum(b['stored_at_kill'] for b in builds)} runs stored at the "
              f"kills, {sum(b['lost'] for b in builds)} lost)")
    else:
        build_ok = 0
    return 0 if kill_ok == len(kills) and race_ok == len(races) and build_ok == len(builds) else 1


if __name__ == "__main__":
    sys.exit(main())
