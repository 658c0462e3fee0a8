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
"""

from __future__ import annotations

import argparse
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
    recommend_backbone,
    score_recipe,
)

ORDER = ["transfer", "transfer_glyphs", "maml", "fomaml", "reptile", "scratch"]


def _cell(mean: float, ci: float, metric: str) -> str:
    return f"{100 * mean:.1f} ± {100 * ci:.1f}" if metric == "accuracy" else f"{mean:.3f} ± {ci:.3f}"


def _recipe_text(recipe: dict) -> str:
    mode = recipe.get("finetune")
    return mode if mode == "centroid" else f"{mode} lr={recipe.get('inner_lr')} steps={recipe.get('steps')}"


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
        f"| method | recipe | {' | '.join(heads)} | meta-train wall time (1 CPU thread) |",
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
            wall = f"{record.train_seconds / 60:.1f} min" if record.train_seconds else "–"
            lines.append(f"| {record.method} | {_recipe_text(recipe)} | {' | '.join(cells)} | {wall} |")
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


def write_demo_runs(out: Path, omniglot_root: Path, n_runs: int = 20, seed: int = 0) -> None:
    """Write 20-way one-shot runs in Lake's format from the held-out (meta-test) alphabets.

    Each run takes 20 characters of one held-out alphabet, one drawing of each as
    ``training/classNN.png`` and another drawing (a different drawer) as ``test/itemNN.png``.
    """
    rng = np.random.default_rng(seed)
    chars: dict[str, dict[str, list[tuple[str, bytes]]]] = {}
    for path in sorted(omniglot_root.glob("*.zip")):
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                parts = name.split("/")
                if name.endswith(".png") and len(parts) >= 4 and parts[-3] in OMNIGLOT_SPLITS["test"]:
                    files = chars.setdefault(parts[-3], {}).setdefault(parts[-2], [])
                    if parts[-1] not in {f for f, _ in files}:
                        files.append((parts[-1], zf.read(name)))
    alphabets = sorted(chars)
    for run in range(n_runs):
        alphabet = alphabets[run % len(alphabets)]
        names = sorted(chars[alphabet])
        picked = [names[i] for i in rng.choice(len(names), size=20, replace=False)]
        run_dir = out / f"run{run + 1:02d}"
        (run_dir / "training").mkdir(parents=True, exist_ok=True)
        (run_dir / "test").mkdir(parents=True, exist_ok=True)
        order = rng.permutation(20)
        labels = []
        for i, char in enumerate(picked):
            drawings = sorted(chars[alphabet][char])
            a, b = rng.choice(len(drawings), size=2, replace=False)
            (run_dir / "training" / f"class{i + 1:02d}.png").write_bytes(drawings[a][1])
            (run_dir / "test" / f"item{int(order[i]) + 1:02d}.png").write_bytes(drawings[b][1])
            labels.append((int(order[i]) + 1, i + 1))
        text = "".join(f"test/item{t:02d}.png training/class{c:02d}.png\n" for t, c in sorted(labels))
        (run_dir / "class_labels.txt").write_text(text)
    print(f"wrote {n_runs} runs to {out} (alphabets {alphabets})")


def evaluate_runs(registry: BackboneRegistry, runs_dir: Path) -> float:
    """Accuracy of the recommended backbone + recipe on each one-shot run; returns the mean."""
    accuracies = []
    for run in load_runs(runs_dir):
        task = FewShotTask(run.train_x, np.arange(len(run.train_x)), query_x=run.test_x, modality="image")
        rec = recommend_backbone(task, registry)
        fitted = adapt(rec.backbone, task.support_x, task.support_y, rec.recipe)
        acc = float(np.mean(fitted.predict(run.test_x) == run.test_y))
        accuracies.append(acc)
        print(f"{run.name}: {100 * acc:.1f}% ({rec.backbone.id}, {_recipe_text(rec.recipe)})")
    return float(np.mean(accuracies))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--registry", type=Path, default=default_backbones_dir())
    parser.add_argument("--omniglot-root", type=Path, default=Path("../shared/datasets/omniglot"))
    parser.add_argument("--families", nargs="+", default=["omniglot", "sinusoid", "digits"])
    parser.add_argument("--episodes", type=int, default=600, help="fresh episodes for the recommended choice")
    parser.add_argument("--runs-dir", type=Path, default=None, help="evaluate on Lake-format one-shot runs")
    parser.add_argument("--write-demo-runs", type=Path, default=None, help="write runs from held-out alphabets")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    if args.write_demo_runs is not None:
        write_demo_runs(args.write_demo_runs, args.omniglot_root, seed=args.seed)
        return
    registry = load_registry(args.registry)
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
