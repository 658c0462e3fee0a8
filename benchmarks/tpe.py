"""Optuna TPE over metalearn's conditional space: the TPE baseline of the anytime benchmark.

Optuna is a benchmark-only dependency (the ``bench`` extra), imported when a TPE run starts.
"""

from __future__ import annotations

import numpy as np

from metalearn.space import Categorical, Int


def suggest_config(trial, space) -> dict:
    """Define-by-run Optuna suggestion of a configuration of ``space`` (conditional on family)."""
    family = trial.suggest_categorical("family", list(space.families))
    config: dict = {"family": family}
    for p in space.family(family).params:
        if not all(c.holds(config) for c in p.conditions):
            continue
        name = f"{family}.{p.name}"
        if isinstance(p, Categorical):
            config[p.name] = trial.suggest_categorical(name, list(p.choices))
        elif isinstance(p, Int):
            config[p.name] = trial.suggest_int(name, int(p.low), int(p.high), log=p.log)
        else:
            config[p.name] = trial.suggest_float(name, p.low, p.high, log=p.log)
    return space.validate(config)


def optuna_params(config: dict) -> dict:
    """Optuna parameter names of a configuration (for ``enqueue_trial``)."""
    return {"family": config["family"], **{f"{config['family']}.{k}": v for k, v in config.items() if k != "family"}}


def run_tpe(space, pool: list[dict], scores: np.ndarray, n: int, seed: int, warm: list[dict]) -> list[int]:
    """TPE in the full space; each suggestion is mapped to the nearest untried pool config (table lookup)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    for config in warm:
        study.enqueue_trial(optuna_params(config))
    codes = space.encode_many(pool)
    tried: list[int] = []
    for _ in range(n):
        trial = study.ask()
        code = space.encode(suggest_config(trial, space))
        dist = np.linalg.norm(codes - code, axis=1)
        dist[tried] = np.inf
        j = int(np.argmin(dist))
        tried.append(j)
        if np.isfinite(scores[j]):
            study.tell(trial, float(scores[j]))
        else:
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return tried
