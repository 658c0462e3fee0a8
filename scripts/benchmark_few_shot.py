"""Few-shot benchmark tables from the backbone registry, the recommended choice vs the best, and Lake's runs.

The meta-test numbers come from ``registry.json`` (written by
``scripts/train_backbones.py``: every recipe scored on the same >= 600 meta-test
episodes per setting, 95% CI = 1.96 standard errors). The recommended backbone is
then re-scored on *fresh* meta-test episodes (another seed), so the comparison
with the best recorded result is not just the selection itself.

Examples::

    .venv/bin/python scripts/benchmark_few_shot.py --omniglot-root ../shared/datasets/omniglot
    .venv/bin/python scripts/benchmark_few_shot.py --write-demo-runs /tmp/runs  # runs from held-out alphabets
    .venv/bin/python scripts/benchmark_few_shot.py --runs-dir /tmp/runs      # last line: runs_accuracy=<mean>
    .venv/bin/python scripts/benchmark_few_shot.py --held-out-runs --runs-out /tmp/held-out  # every method
"""

from __future__ import annotations

import argparse
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch

from metalearn.neural import (
    OMNIGLOT_SPLITS,
    BackboneRegistry,
    FewShotTask,
    adapt,
    default_backbones_dir,
    get_family,
    load_backbone,
    load_registry,
    load_runs,
    mean_ci95,
    recommend_backbone,
    score_recipe,
)

ORDER = ["protonet", "transfer", "transfer_glyphs", "maml", "fomaml", "reptile", "scratch"]


def _cell(mean: float, ci: float, metric: str) -> str:
    return f"{100 * mean:.1f} ± {100 * ci:.1f}" if metric == "accuracy" else f"{mean:.3f} ± {ci:.3f}"


def _recipe_text(recipe: dict) -> str:
    mode = recipe.get("finetune")
    return mode if mode == "centroid" else f"{mode} lr={recipe.get('inner_lr')} steps={recipe.get('steps')}"


def _cpu_minutes(record) -> str:
    cpu = record.extra.get("train_cpu_seconds")
    return f"{cpu / 60:.1f} min" if cpu else ("–" if record.method == "scratch" else "not recorded")


def family_table(registry: BackboneRegistry, family: str) -> str:
    """Markdown table: one row per (method, recipe), one column per recorded setting."""
    records = sorted((r for r in registry.records if r.family == family), key=lambda r: ORDER.index(r.method))
    settings = sorted({(res.n_way, res.k_shot) for r in records for res in r.results}, key=lambda s: (s[0], s[1]))
    if not records:
        return f"(no {family} backbones in the registry)"
    metric = records[0].results[0].metric if records[0].results else "accuracy"
    heads = [f"{w}-way {k}-shot" if w else f"K={k}" for w, k in settings]
    unit = "accuracy %" if metric == "accuracy" else "MSE"
    lines = [
        f"| method | recipe | {' | '.join(heads)} | meta-training CPU time (1 thread) |",
        "|" + "---|" * (len(heads) + 3),
    ]
    for record in records:
        recipes: list[dict] = []
        for res in record.results:
            if res.recipe not in recipes:
                recipes.append(res.recipe)
        for recipe in recipes:
            cells = []
            for w, k in settings:
                found = [r for r in record.results if r.recipe == recipe and (r.n_way, r.k_shot) == (w, k)]
                cells.append(_cell(found[0].mean, found[0].ci95, metric) if found else "–")
            lines.append(f"| {record.method} | {_recipe_text(recipe)} | {' | '.join(cells)} | {_cpu_minutes(record)} |")
    n_eps = {res.n_episodes for r in records for res in r.results}
    lines.append(f"\n{family}: {unit} on meta-test episodes (n = {sorted(n_eps)}), mean ± 95% CI.")
    return "\n".join(lines)


def recommended_vs_best(registry: BackboneRegistry, family_name: str, args: argparse.Namespace) -> str:
    """For each setting: best recorded result, the recommendation, and its score on fresh episodes."""
    family = get_family(family_name, omniglot_root=args.omniglot_root)
    records = [r for r in registry.records if r.family == family_name]
    settings = sorted({(res.n_way, res.k_shot) for r in records for res in r.results})
    n_query = 100 if family_name == "sinusoid" else 5
    lines = ["| setting | best recorded | recommended | recommended on fresh episodes |", "|---|---|---|---|"]
    for n_way, k_shot in settings:
        ep = next(family.episodes("test", 1, n_way, k_shot, n_query, random_state=args.seed + 12345))
        rec = recommend_backbone(FewShotTask(ep.support_x, ep.support_y, modality=family.modality), registry)
        candidates = [
            (r, res) for r in registry.records if r.family == family_name for res in r.results
            if (res.n_way, res.k_shot) == (n_way, k_shot)
        ]  # fmt: skip
        sign = 1.0 if family.is_classification else -1.0
        best_rec, best = max(candidates, key=lambda pair: sign * pair[1].mean)
        fresh = family.episodes("test", args.episodes, n_way, k_shot, n_query, random_state=args.seed + 1000)
        mean, ci, _ = score_recipe(load_backbone(rec.backbone), fresh, rec.recipe)
        setting = f"{n_way}-way {k_shot}-shot" if n_way else f"K={k_shot}"
        lines.append(
            f"| {setting} | {best_rec.method} {_recipe_text(best.recipe)}: {_cell(best.mean, best.ci95, best.metric)} "
            f"| {rec.backbone.method} {_recipe_text(rec.recipe)} | {_cell(mean, ci, best.metric)} |"
        )
    return "\n".join(lines)


def _held_out_drawings(omniglot_root: Path) -> dict[str, dict[str, dict[str, bytes]]]:
    """PNG bytes of the meta-test alphabets: ``{alphabet: {character: {drawer: png}}}``.

    Omniglot files are named ``IMAGE_DRAWER.png``; the drawer is the part after ``_``.
    """
    chars: dict[str, dict[str, dict[str, bytes]]] = {}
    for path in sorted(omniglot_root.glob("*.zip")):
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                parts = name.split("/")
                if name.endswith(".png") and len(parts) >= 4 and parts[-3] in OMNIGLOT_SPLITS["test"]:
                    drawer = parts[-1][:-4].split("_")[-1]
                    chars.setdefault(parts[-3], {}).setdefault(parts[-2], {}).setdefault(drawer, zf.read(name))
    return chars


def write_demo_runs(out: Path, omniglot_root: Path, n_runs: int = 20, seed: int = 0, n_way: int = 20) -> None:
    """Write N-way one-shot runs in Lake's layout from the held-out (meta-test) alphabets.

    As in Lake et al. (2015), each run takes ``n_way`` characters of one
    held-out alphabet and two drawers: the first drew ``runNN/training/classMM.png``,
    the second ``runNN/test/itemKK.png`` (shuffled). ``runNN/class_labels.txt``
    names both relative to the runs folder, as in the published runs:
    ``runNN/test/itemKK.png runNN/training/classMM.png``.
    """
    rng = np.random.default_rng(seed)
    chars = _held_out_drawings(omniglot_root)
    alphabets = sorted(chars)
    for run in range(n_runs):
        alphabet = alphabets[run % len(alphabets)]
        names = sorted(chars[alphabet])
        picked = [names[i] for i in rng.choice(len(names), size=n_way, replace=False)]
        drawers = sorted(set.intersection(*(set(chars[alphabet][c]) for c in picked)))
        first, second = (drawers[i] for i in rng.choice(len(drawers), size=2, replace=False))
        name = f"run{run + 1:02d}"
        (out / name / "training").mkdir(parents=True, exist_ok=True)
        (out / name / "test").mkdir(parents=True, exist_ok=True)
        order = rng.permutation(n_way)  # class i is drawn again as item order[i] + 1
        for i, char in enumerate(picked):
            (out / name / "training" / f"class{i + 1:02d}.png").write_bytes(chars[alphabet][char][first])
            (out / name / "test" / f"item{int(order[i]) + 1:02d}.png").write_bytes(chars[alphabet][char][second])
        pairs = sorted((int(order[i]) + 1, i + 1) for i in range(n_way))
        text = "".join(f"{name}/test/item{t:02d}.png {name}/training/class{c:02d}.png\n" for t, c in pairs)
        (out / name / "class_labels.txt").write_text(text)
    print(f"wrote {n_runs} {n_way}-way runs to {out} (alphabets {alphabets})")


def score_runs(
    registry: BackboneRegistry, runs_dir: Path, verbose: bool = False, only: list[str] | None = None
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Per-run accuracy of every image backbone (its best recorded recipe) and of the recommended choice.

    Returns ``{backbone id or "recommended": accuracies}``, all on the same runs,
    and the distinct recommendations (``"id recipe"``). ``only`` limits the backbones scored
    besides the recommended one.
    """
    scores: dict[str, list[float]] = {}
    recommended: list[str] = []
    for run in load_runs(runs_dir):
        task = FewShotTask(run.train_x, np.arange(len(run.train_x)), query_x=run.test_x, modality="image")
        rec = recommend_backbone(task, registry)
        if f"{rec.backbone.id} {_recipe_text(rec.recipe)}" not in recommended:
            recommended.append(f"{rec.backbone.id} {_recipe_text(rec.recipe)}")
        chosen = [(rec.backbone, rec.recipe, "recommended")]
        chosen += [(r, None, r.id) for r in registry.records if r.modality == "image" and r.results
                   and tuple(r.input_shape) == task.input_shape and (only is None or r.id in only)]  # fmt: skip
        for record, recipe, key in chosen:
            fitted = adapt(record, task.support_x, task.support_y, recipe)
            scores.setdefault(key, []).append(float(np.mean(fitted.predict(run.test_x) == run.test_y)))
        if verbose:
            print(f"{run.name}: {100 * scores['recommended'][-1]:.1f}% ({rec.backbone.id}, {_recipe_text(rec.recipe)})")
    return {key: np.asarray(values) for key, values in scores.items()}, recommended


def runs_table(registry: BackboneRegistry, runs: dict[str, Path], only: list[str] | None = None) -> str:
    """Markdown table: accuracy (mean ± 95% CI over runs) per backbone and run set, with training CPU time."""
    scored = {label: score_runs(registry, folder, only=only) for label, folder in runs.items()}
    by_set = {label: pair[0] for label, pair in scored.items()}
    keys = [k for k in next(iter(by_set.values())) if k != "recommended"]
    keys.sort(key=lambda k: ORDER.index(registry.get(k).method) if registry.get(k).method in ORDER else len(ORDER))
    lines = [f"| method | {' | '.join(runs)} | meta-training CPU time |", "|" + "---|" * (len(runs) + 2)]
    for key in [*keys, "recommended"]:
        cells = [_cell(*mean_ci95(by_set[label][key]), "accuracy") for label in runs]
        if key == "recommended":
            chosen = "; ".join(sorted({c for pair in scored.values() for c in pair[1]}))
            lines.append(f"| **recommended** ({chosen}) | {' | '.join(cells)} | |")
        else:
            record = registry.get(key)
            lines.append(f"| {record.method} ({key}) | {' | '.join(cells)} | {_cpu_minutes(record)} |")
    sizes = ", ".join(f"{label}: {len(next(iter(v.values())))} runs" for label, v in by_set.items())
    lines.append(f"\nAccuracy % on one-shot runs in Lake's layout ({sizes}), mean ± 95% CI over runs.")
    return "\n".join(lines)


def evaluate_runs(registry: BackboneRegistry, runs_dir: Path) -> float:
    """Accuracy of the recommended backbone + recipe on each one-shot run; prints every method; returns the mean."""
    scores, _ = score_runs(registry, runs_dir, verbose=True)
    for key, values in scores.items():
        mean, ci = mean_ci95(values)
        print(f"{key}: {100 * mean:.1f} ± {100 * ci:.1f} % over {len(values)} runs")
    return float(np.mean(scores["recommended"]))


def held_out_runs(registry: BackboneRegistry, args: argparse.Namespace) -> str:
    """Write 20-way and 5-way runs from the held-out alphabets (Lake's layout) and score every method on them."""
    out = args.runs_out or Path(tempfile.mkdtemp(prefix="metalearn-runs-"))
    runs = {}
    for n_way in (20, 5):
        folder = out / f"{n_way}way"
        if not folder.is_dir():
            write_demo_runs(folder, args.omniglot_root, n_runs=args.n_runs, seed=args.seed, n_way=n_way)
        runs[f"{n_way}-way 1-shot"] = folder
    return runs_table(registry, runs, only=args.backbones)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--registry", type=Path, default=default_backbones_dir())
    parser.add_argument("--omniglot-root", type=Path, default=Path("../shared/datasets/omniglot"))
    parser.add_argument("--families", nargs="+", default=["omniglot", "sinusoid", "digits"])
    parser.add_argument("--episodes", type=int, default=600, help="fresh episodes for the recommended choice")
    parser.add_argument("--runs-dir", type=Path, default=None, help="evaluate on Lake-format one-shot runs")
    parser.add_argument("--write-demo-runs", type=Path, default=None, help="write runs from held-out alphabets")
    parser.add_argument("--held-out-runs", action="store_true",
                        help="write 20-way and 5-way runs from the held-out alphabets in Lake's layout and score "
                             "every method and the recommended one on them")
    parser.add_argument("--n-runs", type=int, default=200, help="runs per setting for --held-out-runs")
    parser.add_argument("--runs-out", type=Path, default=None, help="folder for --held-out-runs (default: a temp dir)")
    parser.add_argument("--backbones", nargs="+", default=None,
                        help="with --held-out-runs: score only these backbone ids (and the recommended one)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.write_demo_runs is not None:
        write_demo_runs(args.write_demo_runs, args.omniglot_root, seed=args.seed)
        return
    registry = load_registry(args.registry)
    if args.held_out_runs:
        print(held_out_runs(registry, args))
        return
    if args.runs_dir is not None:
        mean = evaluate_runs(registry, args.runs_dir)
        print(f"runs_accuracy={mean:.4f}")
        return
    present = {r.family for r in registry.records}
    for family in args.families:
        if family not in present:
            continue
        print(f"\n## {family}\n\n{family_table(registry, family)}\n")
        print(f"Recommended vs best ({family}):\n\n{recommended_vs_best(registry, family, args)}\n", flush=True)


if __name__ == "__main__":
    main()
