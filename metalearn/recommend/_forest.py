"""A fitted tree ensemble as plain arrays: predicts like scikit-learn's trees, stores as ``.npz`` without pickles.

The performance model is trained with scikit-learn's ``ExtraTreesRegressor``
and then kept only as the node arrays of its trees. Prediction walks those
arrays with numpy, so a stored model needs neither pickle nor the scikit-learn
version that trained it, and arrays read from a file are checked before use
(a hostile file can raise :class:`~metalearn.exceptions.KnowledgeBaseIntegrityError`
but cannot make prediction loop or index out of bounds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metalearn.exceptions import KnowledgeBaseIntegrityError

#: Node arrays of every tree, concatenated; ``offsets`` delimits the trees.
FIELDS = ("left", "right", "feature", "threshold", "value", "missing_left", "offsets")
LEAF = -1


@dataclass(frozen=True, eq=False)
class ArrayForest:
    """Trees as arrays: node ``i`` of the forest splits on ``feature[i] <= threshold[i]``.

    Children indices are forest-wide (``LEAF`` for leaves); ``missing_left``
    says where a NaN goes. ``offsets[t]`` is the root of tree ``t``.
    """

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    missing_left: np.ndarray
    offsets: np.ndarray
    n_features: int

    @classmethod
    def from_sklearn(cls, forest) -> ArrayForest:
        """The node arrays of a fitted single-output scikit-learn tree ensemble."""
        parts: dict[str, list[np.ndarray]] = {f: [] for f in FIELDS[:-1]}
        offsets = [0]
        for est in forest.estimators_:
            tree = est.tree_
            start = offsets[-1]
            leaf = tree.children_left == LEAF
            parts["left"].append(np.where(leaf, LEAF, tree.children_left + start))
            parts["right"].append(np.where(leaf, LEAF, tree.children_right + start))
            parts["feature"].append(np.where(leaf, 0, tree.feature))
            parts["threshold"].append(np.asarray(tree.threshold, dtype=np.float64))
            parts["value"].append(np.asarray(tree.value, dtype=np.float64).reshape(tree.node_count, -1)[:, 0])
            missing = getattr(tree, "missing_go_to_left", None)
            parts["missing_left"].append(np.zeros(tree.node_count, dtype=bool) if missing is None
                                         else np.asarray(missing, dtype=bool))
            offsets.append(start + tree.node_count)
        arrays = {k: np.concatenate(v) for k, v in parts.items()}
        return cls(left=arrays["left"].astype(np.int64), right=arrays["right"].astype(np.int64),
                   feature=arrays["feature"].astype(np.int64), threshold=arrays["threshold"],
                   value=arrays["value"], missing_left=arrays["missing_left"],
                   offsets=np.asarray(offsets, dtype=np.int64), n_features=int(forest.n_features_in_))

    @property
    def n_trees(self) -> int:
        """Number of trees."""
        return len(self.offsets) - 1

    def predict_per_tree(self, X: np.ndarray) -> np.ndarray:
        """Each tree's prediction (trees x rows), with scikit-learn's float32 split semantics."""
        X = np.asarray(X, dtype=np.float32).astype(np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"expected {self.n_features} columns, got shape {X.shape}")
        rows = np.arange(X.shape[0])[None, :]
        node = np.repeat(self.offsets[:-1, None], X.shape[0], axis=1)
        active = self.left[node] != LEAF
        while active.any():
            x = X[rows, self.feature[node]]
            go_left = np.where(np.isnan(x), self.missing_left[node], x <= self.threshold[node])
            step = np.where(go_left, self.left[node], self.right[node])
            node = np.where(active, step, node)
            active = self.left[node] != LEAF
        return self.value[node]

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays to store (``np.savez``), ``n_features`` included."""
        out = {f: getattr(self, f) for f in FIELDS}
        out["n_features"] = np.asarray([self.n_features], dtype=np.int64)
        return out

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], source: str = "the artifact") -> ArrayForest:
        """Rebuild from :meth:`arrays`, checking dtypes, shapes and that every tree is a finite tree."""
        missing = [f for f in (*FIELDS, "n_features") if f not in arrays]
        if missing:
            raise KnowledgeBaseIntegrityError(f"{source} lacks the forest arrays {missing}")
        ints = {f: _typed(arrays[f], np.integer, f, source).astype(np.int64)
                for f in ("left", "right", "feature", "offsets", "n_features")}
        floats = {f: _typed(arrays[f], np.floating, f, source).astype(np.float64) for f in ("threshold", "value")}
        missing_left = _typed(arrays["missing_left"], np.bool_, "missing_left", source)
        forest = cls(left=ints["left"], right=ints["right"], feature=ints["feature"], threshold=floats["threshold"],
                     value=floats["value"], missing_left=missing_left, offsets=ints["offsets"],
                     n_features=int(ints["n_features"][0]) if ints["n_features"].size == 1 else -1)
        forest._check(source)
        return forest

    def _check(self, source: str) -> None:
        """Every child lies after its parent inside the parent's tree, so a walk ends at a leaf."""
        n = len(self.left)
        if self.n_features < 1 or any(len(a) != n for a in (self.right, self.feature, self.threshold, self.value,
                                                              self.missing_left)):
            raise KnowledgeBaseIntegrityError(f"{source} holds forest arrays of inconsistent lengths")
        off = self.offsets
        if len(off) < 2 or off[0] != 0 or off[-1] != n or np.any(np.diff(off) < 1):
            raise KnowledgeBaseIntegrityError(f"{source} holds invalid tree offsets")
        tree_end = np.repeat(off[1:], np.diff(off))
        idx = np.arange(n)
        for child in (self.left, self.right):
            inner = child != LEAF
            if np.any(inner & ((child <= idx) | (child >= tree_end))):
                raise KnowledgeBaseIntegrityError(f"{source} holds a tree whose nodes do not form a tree")
        if np.any((self.left == LEAF) != (self.right == LEAF)):
            raise KnowledgeBaseIntegrityError(f"{source} holds a node with exactly one child")
        if np.any((self.feature < 0) | (self.feature >= self.n_features)):
            raise KnowledgeBaseIntegrityError(f"{source} holds a split on a feature that does not exist")


def _typed(array: np.ndarray, kind: type, name: str, source: str) -> np.ndarray:
    if not isinstance(array, np.ndarray) or not np.issubdtype(array.dtype, kind) or array.ndim != 1:
        raise KnowledgeBaseIntegrityError(f"{source}: forest array {name!r} has the wrong type or shape")
    return array
