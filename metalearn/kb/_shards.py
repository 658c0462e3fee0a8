"""Snapshots of a long build as append-only shards, so it can be published while it runs and resumed elsewhere.

A shard is a gzip file of JSON lines holding what a build added on top of a
base knowledge base: the datasets and configurations its new runs refer to,
and the runs themselves (datasets are named by ``(name, source)``, not by
their ids in one file). Each export writes only runs that neither the base
nor an earlier shard holds, so a folder of shards grows by small files.
:func:`restore` rebuilds the build from the base and the shards.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path

from metalearn.kb._schema import RunRecord
from metalearn.kb._store import KBStore

SHARD_GLOB = "shard-*.jsonl.gz"
_RUN_FIELDS = ("config_id", "metric", "fold_scores", "mean_score", "fit_time", "duration", "status", "error",
               "source", "n_rows_used", "library_versions")
_DATASET_FIELDS = ("task", "family", "openml_id", "n_rows", "n_features", "n_classes", "metafeatures")


def _run_keys(store: KBStore) -> set[tuple]:
    rows = store.conn.execute("SELECT d.name, d.source, r.config_id, r.metric, r.source FROM runs r "
                              "JOIN datasets d ON d.id = r.dataset_id")
    return {tuple(r) for r in rows}


def _shard_keys(directory: Path) -> set[tuple]:
    keys = set()
    for path in sorted(directory.glob(SHARD_GLOB)):
        for record in _read(path):
            if record["kind"] == "run":
                keys.add((*record["dataset"], record["config_id"], record["metric"], record["source"]))
    return keys


def _read(path: Path):
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            yield json.loads(line)


def export_shard(build: str | Path, directory: str | Path, base: str | Path) -> Path | None:
    """Write the runs of ``build`` that ``base`` and the shards in ``directory`` lack to a new shard.

    Returns the new shard's path, or None when there was nothing new.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with KBStore(base) as store:
        known = _run_keys(store)
    known |= _shard_keys(directory)
    with KBStore(build) as store:
        datasets = store.table("datasets").set_index("id")
        configs = store.table("configs").set_index("id")
        runs = store.table("runs")
        meta = {k: store.get_meta(k) for k in ("protocol", "family_versions", "space_version", "pool_size")}
    keys = [(datasets.at[d, "name"], datasets.at[d, "source"], c, m, s)
            for d, c, m, s in zip(runs["dataset_id"], runs["config_id"], runs["metric"], runs["source"])]
    new = runs.loc[[k not in known for k in keys]]
    if new.empty:
        return None
    lines = [{"kind": "meta", **meta}]
    for did in sorted(set(new["dataset_id"])):
        row = datasets.loc[did]
        lines.append({"kind": "dataset", "name": row["name"], "source": row["source"],
                      **{f: _plain(row[f]) for f in _DATASET_FIELDS}})
    for cid in sorted(set(new["config_id"])):
        row = configs.loc[cid]
        lines.append({"kind": "config", "id": cid, "task": row["task"], "family": row["family"],
                      "config": row["config"], "space_version": row["space_version"]})
    for row in new.itertuples(index=False):
        ds = datasets.loc[row.dataset_id]
        lines.append({"kind": "run", "dataset": [ds["name"], ds["source"]],
                      **{f: _plain(getattr(row, f)) for f in _RUN_FIELDS}})
    number = 1 + max((int(p.name.split("-")[1].split(".")[0]) for p in directory.glob(SHARD_GLOB)), default=0)
    path = directory / f"shard-{number:04d}.jsonl.gz"
    tmp = path.with_suffix(".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=9) as fh:
        fh.writelines(json.dumps(line, sort_keys=True) + "\n" for line in lines)
    tmp.replace(path)
    return path


def _plain(value):
    """A JSON-ready value: numpy scalars as Python numbers, pandas' missing values as None."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def restore(directory: str | Path, output: str | Path, base: str | Path) -> int:
    """Create ``output`` as a copy of ``base`` (unless it exists) and add every shard of ``directory``.

    Returns the number of runs added. Shards are applied in order; what is
    already stored is kept, so restoring twice changes nothing.
    """
    output = Path(output)
    if not output.exists():
        output.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(str(base)) as src, sqlite3.connect(str(output)) as dst:
            src.backup(dst)
    added = 0
    with KBStore(output) as store:
        for path in sorted(Path(directory).glob(SHARD_GLOB)):
            added += _apply(store, list(_read(path)))
    return added


def _apply(store: KBStore, records: list[dict]) -> int:
    ids = {}
    for rec in records:
        if rec["kind"] == "meta":
            store.set_meta({k: v for k, v in rec.items() if k != "kind" and v is not None})
        elif rec["kind"] == "dataset":
            fields = {f: rec[f] for f in _DATASET_FIELDS if f != "metafeatures"}
            did = store.add_dataset(name=rec["name"], source=rec["source"], **fields)
            stored = store.conn.execute("SELECT metafeatures FROM datasets WHERE id = ?", (did,)).fetchone()[0]
            if rec.get("metafeatures") and stored is None:
                store.set_metafeatures(did, rec["metafeatures"])
            ids[(rec["name"], rec["source"])] = did
    store.add_configs((r["id"], r["task"], r["family"], r["config"], r["space_version"])
                      for r in records if r["kind"] == "config")
    # a missing score comes back as None, which SQLite stores as NULL, as it stores NaN
    return store.add_runs(RunRecord(dataset_id=ids[tuple(r["dataset"])], **{f: r[f] for f in _RUN_FIELDS})
                          for r in records if r["kind"] == "run")
