"""Benchmark metalearn's meta-feature extractor against pymfe, and check OpenML agreement via LCDB.

Usage::

    nice -n 10 .venv/bin/python scripts/benchmark_metafeatures.py [--skip-pymfe] [--skip-lcdb]
        [--pmlb ../shared/datasets/pmlb] [--repeats 3]

Part 1 runs pymfe (``groups="default"``: general, info-theory, statistical,
model-based, landmarking; summaries mean and sd) and ours (all groups) on the
same data - 1k x 20, 10k x 20 and 10k x 100 synthetic and 10 real PMLB
datasets - and prints the time ratio and, for every feature defined
identically in both (landmarkers excluded), the largest absolute and relative
difference. Both run with single-threaded BLAS (ours always does); ours is
the median of ``--repeats`` runs after a warm-up, pymfe a single run.

Part 2 compares our OpenML-named features with the OpenML qualities LCDB
ships (``lcdb/datasets.csv``) for the OpenML datasets that are also in the
PMLB folder (matched by name, number of instances and number of classes).

pymfe and lcdb are benchmark-only dependencies (``pip install 'metalearn[bench]'``).
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

import metalearn
from metalearn.metafeatures import REGISTRY, extract_metafeatures

#: Our name -> pymfe's (feature.summary) for features with identical definitions.
PYMFE_IDENTICAL = {
    "NumberOfInstances": "nr_inst",
    "NumberOfPredictors": "nr_attr",
    "NumberOfNumericFeatures": "nr_num",
    "NumberOfCategoricalFeatures": "nr_cat",
    "NumberOfClasses": "nr_class",
    "DatasetRatio": "attr_to_inst",
    "InverseDatasetRatio": "inst_to_attr",
    "ClassProbabilitySTD": "freq_class.sd",
    "ClassEntropy": "class_ent",
    "MeanDiscretizedAttributeEntropy": "attr_ent.mean",
    "SDDiscretizedAttributeEntropy": "attr_ent.sd",
    "MeanDiscretizedMutualInformation": "mut_inf.mean",
    "SDDiscretizedMutualInformation": "mut_inf.sd",
    "MeanJointEntropy": "joint_ent.mean",
    "SDJointEntropy": "joint_ent.sd",
    "EquivalentNumberOfAttsDiscretized": "eq_num_attr",
    "NoiseToSignalRatioDiscretized": "ns_ratio",
    "MeanMeansOfNumericAtts": "mean.mean",
    "SDMeansOfNumericAtts": "mean.sd",
    "MeanStdDevOfNumericAtts": "sd.mean",
    "SDStdDevOfNumericAtts": "sd.sd",
    "MeanAbsCorrelation": "cor.mean",
    "SDAbsCorrelation": "cor.sd",
    "MeanAbsCovariance": "cov.mean",
    "SDAbsCovariance": "cov.sd",
    "MeanCovarianceEigenvalues": "eigenvalues.mean",
    "SDCovarianceEigenvalues": "eigenvalues.sd",
    "NumberOfAttsWithOutliers": "nr_outliers",
}
#: Real datasets: numeric features, classification, no missing values.
PMLB_BENCHMARK = (
    "vehicle",
    "wdbc",
    "ring",
    "spambase",
    "waveform_40",
    "wine_quality_red",
    "sonar",
    "twonorm",
    "mfeat_fourier",
    "page_blocks",
)
TOLERANCE = 1e-6
#: Same definition up to pymfe's smoothing: it adds 1e-8 to every joint-probability cell before taking
#: the joint entropy (``MFEInfoTheory._calc_joint_ent``), which moves these by ~1e-5 relative; reported apart.
PYMFE_SMOOTHED = (
    "MeanDiscretizedMutualInformation",
    "SDDiscretizedMutualInformation",
    "MeanJointEntropy",
    "SDJointEntropy",
    "EquivalentNumberOfAttsDiscretized",
    "NoiseToSignalRatioDiscretized",
)
#: Qualities that must match for a PMLB copy to hold the same data as OpenML's version.
LAYOUT = ("NumberOfNumericFeatures", "NumberOfSymbolicFeatures", "NumberOfMissingValues")


def synthetic(n_rows: int, n_cols: int, seed: int = 0) -> metalearn.Dataset:
    """Gaussian features with a few skewed and correlated ones; a 3-class target with signal."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_rows, n_cols))
    X[:, 1] = X[:, 0] * 0.8 + rng.normal(scale=0.5, size=n_rows)
    X[:, 2] = np.exp(X[:, 2])
    score = X[:, 0] + X[:, 3] + rng.normal(scale=0.7, size=n_rows)
    y = np.digitize(score, np.quantile(score, [0.5, 0.8]))
    return metalearn.load_dataset(
        (pd.DataFrame(X, columns=[f"x{i}" for i in range(n_cols)]), y), name=f"synthetic {n_rows // 1000}k x {n_cols}"
    )


def time_ours(ds: metalearn.Dataset, repeats: int) -> tuple[float, metalearn.metafeatures.MetaFeatures]:
    extract_metafeatures(ds)  # warm-up: imports, allocator
    times, mf = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        mf = extract_metafeatures(ds)
        times.append(time.perf_counter() - start)
    return float(np.median(times)), mf


def time_pymfe(ds: metalearn.Dataset) -> tuple[float, dict[str, float]]:
    from pymfe.mfe import MFE

    if ds.columns_of_type("categorical", "boolean", "text") or ds.n_missing:
        raise SystemExit(f"{ds.name}: the pymfe comparison needs numeric data without missing values")
    X = ds.X.to_numpy(dtype=float)
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        mfe = MFE(groups="default", random_state=0)
        mfe.fit(X, ds.y, cat_cols=[], suppress_warnings=True)
        names, values = mfe.extract(suppress_warnings=True)
        elapsed = time.perf_counter() - start
    return elapsed, {n: float(v) if v is not None else np.nan for n, v in zip(names, values)}


def compare(ours: dict[str, float], theirs: dict[str, float]) -> dict[str, tuple[float, float]]:
    """Our name -> (absolute, relative) difference for every identically defined feature both computed."""
    out = {}
    for name, key in PYMFE_IDENTICAL.items():
        a, b = ours.get(name, np.nan), theirs.get(key, np.nan)
        if np.isnan(a) and np.isnan(b):
            continue
        diff = abs(a - b) if not (np.isnan(a) or np.isnan(b)) else np.inf
        out[name] = (diff, diff / max(abs(b), 1e-12) if np.isfinite(diff) else np.inf)
    return out


def pymfe_benchmark(pmlb_root: Path, repeats: int) -> None:
    datasets = [synthetic(1000, 20), synthetic(10_000, 20), synthetic(10_000, 100)]
    if pmlb_root.exists():
        datasets += [metalearn.load_pmlb(name, root=pmlb_root) for name in PMLB_BENCHMARK]
    rows, diffs = [], {}
    for ds in datasets:
        ours_s, mf = time_ours(ds, repeats)
        theirs_s, theirs = time_pymfe(ds)
        for name, d in compare(mf.values, theirs).items():
            prev = diffs.get(name, (0.0, 0.0, "-"))
            diffs[name] = (max(prev[0], d[0]), max(prev[1], d[1]), ds.name if d[0] > prev[0] else prev[2])
        rows.append((ds.name, ds.n_rows, ds.n_features, ours_s, theirs_s))
        print(f"  {ds.name}: ours {ours_s:.3f}s, pymfe {theirs_s:.2f}s", flush=True)
    print(f"\n### Time: metalearn (all groups, {len(REGISTRY)} features) vs pymfe (default groups)\n")
    print("| dataset | rows | cols | metalearn (s) | pymfe (s) | speed-up |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, n, p, ours_s, theirs_s in rows:
        print(f"| {name} | {n} | {p} | {ours_s:.3f} | {theirs_s:.2f} | {theirs_s / ours_s:.0f}x |")
    total_ours, total_theirs = sum(r[3] for r in rows), sum(r[4] for r in rows)
    print(f"| **total** | | | {total_ours:.2f} | {total_theirs:.1f} | **{total_theirs / total_ours:.0f}x** |")
    print(f"\n### Agreement with pymfe (identical definitions, max over {len(rows)} datasets)\n")
    print("| metalearn | pymfe | max abs diff | max rel diff | worst dataset | within 1e-6 |")
    print("|---|---|---:|---:|---|:---:|")
    for name, key in PYMFE_IDENTICAL.items():
        if name in diffs:
            a, r, worst = diffs[name]
            ok = "yes" if a <= TOLERANCE or r <= TOLERANCE else "no"
            ok = f"{ok} (pymfe smooths)" if name in PYMFE_SMOOTHED else ok
            print(f"| {name} | {key} | {a:.2e} | {r:.2e} | {worst} | {ok} |")


def _normalise(name: str) -> str:
    return name.lower().replace("-", "_")


def lcdb_agreement(pmlb_root: Path) -> None:
    spec = importlib.util.find_spec("lcdb")  # locate only: importing lcdb needs its heavy extras
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("lcdb is not installed: pip install lcdb==0.1.0")
    qualities = pd.read_csv(Path(spec.submodule_search_locations[0]) / "datasets.csv")
    manifest = metalearn.data.pmlb_manifest(pmlb_root)
    by_name = {_normalise(n): n for n in manifest.index}
    common = [c for c in qualities.columns if c in REGISTRY]
    records, matched, skipped, same_layout = [], [], [], 0
    for name in sorted({_normalise(n) for n in qualities["Name"]} & set(by_name)):
        ds = metalearn.load_pmlb(by_name[name], root=pmlb_root)
        rows = qualities[
            (qualities["Name"].map(_normalise) == name)
            & (qualities["NumberOfInstances"] == ds.n_rows)
            & (qualities["NumberOfClasses"] == ds.n_classes)
        ]
        if rows.empty:
            skipped.append(by_name[name])
            continue
        row = rows.iloc[0]
        matched.append(f"{by_name[name]} ({int(row['openmlid'])})")
        mf = extract_metafeatures(ds, features=common)
        same = all(mf[k] == row[k] for k in LAYOUT)
        same_layout += int(same)
        records += [(feat, float(mf[feat]), float(row[feat]), same) for feat in common]
    frame = pd.DataFrame(records, columns=["feature", "ours", "openml", "same_layout"])
    both = frame.dropna(subset=["ours", "openml"])
    close = np.isclose(both["ours"], both["openml"], rtol=1e-4, atol=1e-5)
    summary = both.assign(agree=close, diff=(both["ours"] - both["openml"]).abs()).groupby("feature", sort=False)
    both_nan = (frame["ours"].isna() & frame["openml"].isna()).groupby(frame["feature"]).sum()
    print(f"\n### Agreement with OpenML qualities shipped by LCDB ({len(matched)} datasets)\n")
    print("Matched: " + ", ".join(matched))
    if skipped:
        print(f"\nSkipped (PMLB version differs from every LCDB row in rows or classes): {', '.join(skipped)}")
    print("\nagree: |ours - OpenML| <= 1e-5 + 1e-4 |OpenML| (both NaN counted apart). 'same data' keeps the")
    print(f"{same_layout} datasets whose PMLB copy has OpenML's layout (equal {', '.join(LAYOUT)}); PMLB")
    print("re-encoded the others (nominal codes stored as numbers, missing values filled).\n")
    print("| feature | compared | agree | both NaN | agree, same data | median abs diff |")
    print("|---|---:|---:|---:|---:|---:|")
    for feat in common:
        nan_count = int(both_nan.get(feat, 0))
        if feat not in summary.groups:
            print(f"| {feat} | 0 | 0 | {nan_count} | | |")
            continue
        g = summary.get_group(feat)
        same = g[g["same_layout"]]
        print(
            f"| {feat} | {len(g)} | {int(g['agree'].sum())} | {nan_count} | {int(same['agree'].sum())}/{len(same)} "
            f"| {g['diff'].median():.3g} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pmlb", type=Path, default=Path("../shared/datasets/pmlb"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-pymfe", action="store_true")
    parser.add_argument("--skip-lcdb", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if not args.skip_pymfe:
        pymfe_benchmark(args.pmlb, args.repeats)
    if not args.skip_lcdb and args.pmlb.exists():
        lcdb_agreement(args.pmlb)


if __name__ == "__main__":
    main()
