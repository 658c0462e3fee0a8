"""Train few-shot backbones per task family and record their meta-test evidence in the backbone registry.

For every (family, method) job this script trains the backbone on meta-train
episodes, saves ``metalearn/kb_data/backbones/<family>-<method>.pt``, evaluates each
adaptation recipe on meta-test episodes (mean and 95% CI) and writes
``registry.json``. It is resumable: finished jobs (checkpoint present with the
recorded sha256, all results present) are skipped; a job whose checkpoint exists
but whose results are incomplete is only evaluated.

Examples::

    nice -n 10 .venv/bin/python scripts/train_backbones.py --families sinusoid
    nice -n 10 .venv/bin/python scripts/train_backbones.py --families omniglot \
        --omniglot-root ../shared/datasets/omniglot --methods transfer
    nice -n 10 .venv/bin/python scripts/train_backbones.py --families omniglot --methods protonet
    .venv/bin/python scripts/train_backbones.py --families digits --quick --out /tmp/backbones
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from metalearn.exceptions import KnowledgeBaseError
from metalearn.neural import (
    AugmentedFamily,
    BackboneRecord,
    BackboneRegistry,
    MetaTrainConfig,
    PretrainConfig,
    ProtoNetConfig,
    RecipeResult,
    TaskFamily,
    build_model,
    conv4_architecture,
    default_backbones_dir,
    get_family,
    load_backbone,
    load_registry,
    meta_train_maml,
    meta_train_protonet,
    meta_train_reptile,
    mlp_architecture,
    pretrain_classifier,
    pretrain_regressor,
    render_glyph_classes,
    save_checkpoint,
    score_recipe,
    write_registry,
)

SETTINGS = {
    "omniglot": [(5, 1), (5, 5), (20, 1), (20, 5)],
    "digits": [(5, 1), (5, 5)],
    "sinusoid": [(0, 5), (0, 10), (0, 20)],
}
N_QUERY = {"omniglot": 5, "digits": 5, "sinusoid": 100}
METHODS = {
    "omniglot": ["transfer", "protonet", "maml", "fomaml", "reptile", "scratch"],
    "digits": ["transfer", "fomaml", "reptile", "scratch"],
    "sinusoid": ["maml", "reptile", "transfer", "scratch"],
}
OPTIONAL_METHODS = {"omniglot": ["transfer_glyphs", "protonet_transfer"]}  # only when named with --methods
SINE_RECIPES = [{"finetune": "all", "inner_lr": 0.01, "steps": 1}, {"finetune": "all", "inner_lr": 0.01, "steps": 10}]


def _meta_plan(family: str, method: str, scale: float) -> dict[str, Any]:
    """Training configuration and recipes of MAML / FOMAML / Reptile for one family."""
    if family == "sinusoid":
        steps = {"maml": 1, "fomaml": 1, "reptile": 5}[method]
        cfg = MetaTrainConfig(0, 10, 10, meta_batch=10, inner_steps=steps, inner_lr=0.01 if steps == 1 else 0.02)
        cfg = replace(cfg, n_iterations=int(6000 * scale), first_order=method != "maml")
        return {"arch": mlp_architecture(), "config": cfg, "recipes": SINE_RECIPES}
    images = family == "omniglot"
    shape = (1, 28, 28) if images else (1, 8, 8)
    if method == "reptile":
        cfg = MetaTrainConfig(20 if images else 5, 1, 1, meta_batch=5, inner_steps=5, inner_lr=0.3, first_order=True)
        iterations, test_steps = 1000 if images else 400, 5
    else:
        cfg = MetaTrainConfig(20 if images else 5, 1, 1, meta_batch=8, inner_steps=3, inner_lr=0.4)
        cfg = replace(cfg, first_order=method == "fomaml")
        iterations, test_steps = (450 if method == "maml" else 900) if images else 200, 3
    cfg = replace(cfg, n_iterations=max(1, int(iterations * scale)))
    recipes = [{"finetune": "all", "inner_lr": cfg.inner_lr, "steps": test_steps}]
    if not images:  # nearest centroid on meta-learned features: cheap on digits, skipped on Omniglot for CPU time
        recipes.append({"finetune": "centroid"})
    return {"arch": conv4_architecture(shape, cfg.n_way, channels=32), "config": cfg, "recipes": recipes}


def _protonet_plan(family: TaskFamily, method: str, scale: float) -> dict[str, Any]:
    """Prototypical networks after supervised pre-training (the Meta-Baseline recipe).

    ``protonet``: its own pre-training (as ``transfer``, with affine augmentation),
    then 3,000 episodes of prototypical training on affine-augmented meta-train
    episodes; the recorded CPU time covers both stages. ``protonet_transfer``
    (optional): starts from the registry's ``<family>-transfer`` checkpoint (whose
    recorded CPU time is added), trains at most 800 episodes and keeps the weights
    with the best 20-way 1-shot accuracy on meta-val episodes, scored every 100.
    """
    arch = conv4_architecture(family.input_shape, family.n_classes("train"), channels=64)  # type: ignore[attr-defined]
    if method == "protonet_transfer":
        cfg = ProtoNetConfig(n_way=30, k_shot=1, n_query=5, n_iterations=max(1, int(800 * scale)), lr=2e-4)
        return {"arch": arch, "config": cfg, "init_from": f"{family.name}-transfer",
                "recipes": [{"finetune": "centroid"}], "val_episodes": max(2, int(100 * scale))}
    pretrain = PretrainConfig(epochs=max(1, int(15 * scale)), max_shift=2, affine=True)
    cfg = ProtoNetConfig(n_way=30, k_shot=1, n_query=5, n_iterations=max(1, int(3000 * scale)), lr=2e-4)
    return {"arch": arch, "config": cfg, "pretrain": pretrain, "recipes": [{"finetune": "centroid"}]}


def plan_job(family: TaskFamily, method: str, scale: float) -> dict[str, Any]:
    """Architecture, training configuration and evaluated recipes of one (family, method) job."""
    name = family.name
    if method in ("protonet", "protonet_transfer"):
        return _protonet_plan(family, method, scale)
    if method in ("maml", "fomaml", "reptile"):
        return _meta_plan(name, method, scale)
    if method == "scratch":  # the random initialisation is the backbone
        recipes = SINE_RECIPES if name == "sinusoid" else [{"finetune": "all", "inner_lr": 0.2, "steps": 5}]
        arch = mlp_architecture() if name == "sinusoid" else conv4_architecture(family.input_shape, 5, channels=32)
        return {"arch": arch, "config": None, "recipes": recipes}
    if name == "sinusoid":
        cfg = PretrainConfig(epochs=max(1, int(10 * scale)), batch_size=10, steps_per_epoch=500, tasks_per_batch=10)
        return {"arch": mlp_architecture(), "config": cfg, "recipes": SINE_RECIPES}
    images = name == "omniglot"
    n_classes = family.n_classes("train")  # type: ignore[attr-defined]
    arch = conv4_architecture(family.input_shape, n_classes, channels=64 if images else 32)
    if method == "transfer_glyphs":  # meta-train classes + glyphs rendered from matplotlib's DejaVu fonts
        n_classes += len(render_glyph_classes()[2])
        arch = conv4_architecture(family.input_shape, n_classes, channels=64)
    cfg = PretrainConfig(epochs=max(1, int((15 if images else 30) * scale)), max_shift=2 if images else 0)
    recipes = [{"finetune": "centroid"}, {"finetune": "head", "inner_lr": 0.1, "steps": 20}]
    return {"arch": arch, "config": cfg, "recipes": recipes}


def train(family: TaskFamily, method: str, plan: dict[str, Any], seed: int
          ) -> tuple[torch.nn.Module, int, dict[str, float]]:
    """Train one backbone; returns the model, the number of training episodes / minibatches and the seconds.

    Seconds are ``{"wall": ..., "cpu": ...}``: wall-clock and CPU time of this
    process (``time.process_time``, all threads; with ``--threads 1`` the CPU
    time is what one core spent, whatever else shares the machine).
    """
    model = build_model(plan["arch"], seed=seed)
    cfg = plan["config"]
    clock = _Clock()
    if cfg is None:  # train-from-scratch: the random initialisation is the backbone
        return model, 0, {"wall": 0.0, "cpu": 0.0}
    if isinstance(cfg, ProtoNetConfig) and "pretrain" in plan:
        x, y = family.split_pool("train")  # type: ignore[attr-defined]
        pretrain_classifier(model, x, y, plan["pretrain"], random_state=seed)
        bar = tqdm(total=cfg.n_iterations, desc=f"{family.name}-{method}", mininterval=10)
        meta_train_protonet(model, AugmentedFamily(family), cfg, random_state=seed, callback=lambda i, v: bar.update(1))
        bar.close()
        return model, cfg.n_iterations, clock.seconds()
    if isinstance(cfg, ProtoNetConfig):
        model.load_state_dict(plan["init_model"].state_dict())

        def validate(net: torch.nn.Module) -> float:
            episodes = family.episodes("val", plan["val_episodes"], 20, 1, 5, random_state=seed + 7)
            return score_recipe(net, episodes, {"finetune": "centroid"})[0]

        bar = tqdm(total=cfg.n_iterations, desc=f"{family.name}-{method}", mininterval=10)
        meta_train_protonet(model, AugmentedFamily(family), cfg, random_state=seed,
                            callback=lambda i, v: bar.update(1), validate=validate)
        bar.close()
        seconds = clock.seconds()
        return model, cfg.n_iterations, {**seconds, "cpu": seconds["cpu"] + plan["init_cpu"]}
    if isinstance(cfg, MetaTrainConfig):
        bar = tqdm(total=cfg.n_iterations, desc=f"{family.name}-{method}", mininterval=10)

        def progress(iteration: int, value: float) -> None:
            bar.update(1)
            bar.set_postfix(value=f"{value:.3f}", refresh=False)

        if method == "reptile":
            meta_train_reptile(model, family, cfg, epsilon=1.0, random_state=seed, callback=progress)
        else:
            meta_train_maml(model, family, cfg, random_state=seed, callback=progress)
        bar.close()
        return model, cfg.n_iterations * cfg.meta_batch, clock.seconds()
    bar = tqdm(total=cfg.epochs, desc=f"{family.name}-{method}", mininterval=10)

    def epoch_done(epoch: int, loss: float) -> None:
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.3f}", refresh=False)

    if family.is_classification:
        x, y = family.split_pool("train")  # type: ignore[attr-defined]
        if method == "transfer_glyphs":
            gx, gy, _ = render_glyph_classes()
            x, y = np.concatenate([x, gx]), np.concatenate([y, gy + y.max() + 1])
        pretrain_classifier(model, x, y, cfg, random_state=seed, callback=epoch_done)
        batches = cfg.epochs * (len(x) // cfg.batch_size)
    else:
        pretrain_regressor(model, family, cfg, random_state=seed, callback=epoch_done)
        batches = cfg.epochs * cfg.steps_per_epoch
    bar.close()
    return model, batches, clock.seconds()


class _Clock:
    """Wall-clock and process CPU time since construction."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def seconds(self) -> dict[str, float]:
        return {"wall": time.perf_counter() - self.wall, "cpu": time.process_time() - self.cpu}


def evaluate(
    model: torch.nn.Module,
    family: TaskFamily,
    recipes: list[dict[str, Any]],
    done: list[RecipeResult],
    n_episodes: int,
    seed: int,
) -> list[RecipeResult]:
    """Score each recipe in each setting not already in ``done`` on the same meta-test episodes."""
    results = list(done)
    for n_way, k_shot in SETTINGS[family.name]:
        for recipe in recipes:
            if any(r.recipe == recipe and (r.n_way, r.k_shot) == (n_way, k_shot) for r in done):
                continue
            start = time.perf_counter()
            eps = family.episodes("test", n_episodes, n_way, k_shot, N_QUERY[family.name], random_state=seed + 1)
            mean, ci, _ = score_recipe(model, eps, recipe)
            results.append(RecipeResult(dict(recipe), family.metric, n_way, k_shot, mean, ci, n_episodes))
            setting = f"{n_way}-way {k_shot}-shot" if n_way else f"K={k_shot}"
            print(
                f"  {family.name} {setting} {recipe}: {family.metric} {mean:.4f} +/- {ci:.4f} "
                f"({time.perf_counter() - start:.0f}s)",
                flush=True,
            )
    return results


def _existing(registry: BackboneRegistry, job_id: str, out: Path) -> BackboneRecord | None:
    try:
        record = registry.get(job_id)
        load_backbone(record, root=out)
    except KnowledgeBaseError:
        return None
    return record


def run_job(family: TaskFamily, method: str, args: argparse.Namespace, registry: BackboneRegistry
            ) -> tuple[BackboneRegistry, dict[str, float]]:
    """Train (unless already done), evaluate missing results and update the registry file.

    Returns the registry and the training seconds spent now (zero when the
    checkpoint already existed). With ``--timing-only`` the backbone is
    trained and timed but neither saved nor evaluated.
    """
    spent = {"wall": 0.0, "cpu": 0.0}
    job_id = f"{family.name}-{method}"
    plan = plan_job(family, method, args.scale)
    record = None if args.force else _existing(registry, job_id, args.out)
    if record is None and "init_from" in plan:  # start from another backbone of the registry
        start = registry.get(plan["init_from"])
        plan = {**plan, "init_model": load_backbone(start, root=args.out),
                "init_cpu": float(start.extra.get("train_cpu_seconds", 0.0))}
    if record is None:
        print(f"[{job_id}] training {plan['arch']['name']} ({plan['config']})", flush=True)
        model, n_train, seconds = train(family, method, plan, args.seed)
        spent = seconds
        if args.timing_only:
            print(f"[{job_id}] timing only: {seconds['cpu']:.1f}s CPU, {seconds['wall']:.1f}s wall", flush=True)
            return registry, spent
        checkpoint = f"{job_id}.pt"
        sha = save_checkpoint(model, plan["arch"], args.out / checkpoint)
        n_way, k_shot = getattr(plan["config"], "n_way", 0), getattr(plan["config"], "k_shot", 0)
        record = BackboneRecord(
            job_id, family.name, family.modality, method, plan["arch"], tuple(family.input_shape), n_way, k_shot,
            n_train, round(seconds["wall"], 1), checkpoint, sha, torch.__version__, (),
            notes=f"train_backbones.py seed={args.seed} scale={args.scale}",
            extra={"training_unit": "episodes" if n_way or method in ("maml", "fomaml", "reptile") else "minibatches",
                   "config": repr(plan["config"]), "train_cpu_seconds": round(seconds["cpu"], 1),
                   **({"pretrain": repr(plan["pretrain"])} if "pretrain" in plan else {}),
                   **({"init_from": plan["init_from"], "init_cpu_seconds": plan["init_cpu"]}
                      if "init_from" in plan else {})},
        )  # fmt: skip
        registry = registry.with_record(record)
        write_registry(registry)
        print(f"[{job_id}] trained in {seconds['cpu']:.0f}s CPU, {seconds['wall']:.0f}s wall "
              f"({n_train} training episodes/minibatches)", flush=True)
    model = load_backbone(record, root=args.out)
    recipes = [{"adapt": method, **recipe} for recipe in plan["recipes"]]
    results = evaluate(model, family, recipes, list(record.results), args.episodes, args.seed)
    registry = registry.with_record(record.with_results(results))
    write_registry(registry)
    return registry, spent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--families", nargs="+", default=["sinusoid", "digits", "omniglot"])
    parser.add_argument("--methods", nargs="+", default=None, help="default: every method planned for the family")
    parser.add_argument("--omniglot-root", default="../shared/datasets/omniglot")
    parser.add_argument("--out", type=Path, default=default_backbones_dir())
    parser.add_argument("--episodes", type=int, default=600, help="meta-test episodes per recipe and setting")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies training iterations / epochs")
    parser.add_argument("--quick", action="store_true", help="tiny smoke-test run (scale 0.01, 20 episodes)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--force", action="store_true", help="retrain even when a checkpoint exists")
    parser.add_argument("--timing-only", action="store_true",
                        help="train and report CPU/wall time per backbone and family; save and evaluate nothing")
    args = parser.parse_args(argv)
    if args.quick:
        args.scale, args.episodes = 0.01, 20
    torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        registry = load_registry(args.out, verify=False)
    except KnowledgeBaseError:
        registry = BackboneRegistry(args.out, ())
    if args.timing_only:
        args.force = True
    for name in args.families:
        family = get_family(name, omniglot_root=args.omniglot_root)
        total = {"wall": 0.0, "cpu": 0.0}
        for method in args.methods or METHODS[name]:
            if method in METHODS[name] + OPTIONAL_METHODS.get(name, []):
                registry, spent = run_job(family, method, args, registry)
                total = {key: total[key] + spent[key] for key in total}
        print(f"family {name}: meta-training {total['cpu'] / 60:.1f} min CPU, {total['wall'] / 60:.1f} min wall "
              f"(threads={args.threads}, scale={args.scale})", flush=True)
    print(f"registry: {args.out / 'registry.json'} ({len(registry.records)} backbones)")


if __name__ == "__main__":
    main()
