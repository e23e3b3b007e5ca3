"""Rasa's LogisticRegressionClassifier, trained and laid out for our features.

Same model, same objective, same optimiser as Rasa's (scikit-learn's multinomial logistic
regression, lbfgs, class_weight "balanced", C=1, ``max_iter``, ``tol``), stored and loaded the same
way (skops). Two things differ, both measured (docs/nlu.md, Speed):

- Prediction. Rasa computes ``X @ coef_.T`` with X a sparse row (the 384 e5 values plus the few
  hundred character n-grams present in the message, out of ~78,000). scikit-learn's ``coef_`` is
  row-major, so ``coef_.T`` is column-major, and scipy's sparse-times-dense product first copies the
  whole transposed matrix into row-major order (~30 MB) for every message: 9 ms of each
  /model/parse call. Stored column-major, ``coef_.T`` is already row-major and the product reads
  only the rows of the message's features: the same numbers in 0.06 ms.
- Training. Every row has all 384 e5 values, so three quarters of the sparse matrix's entries are
  really a dense block; scikit-learn multiplies it as sparse, single-threaded, twice per step. Here
  the objective and its gradient are computed with that block as a dense array (BLAS) and the
  n-grams as sparse, and handed to the same L-BFGS-B as scikit-learn does. The loss is
  scikit-learn's, term for term; only the arithmetic's layout differs. scipy's sparse products
  run on one core; each is split into row blocks, one per core (scipy releases the GIL), which
  gives the same numbers: a row's sum does not depend on the other rows.
"""
from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import scipy.sparse
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy import optimize
from scipy.special import logsumexp
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_class_weight

logger = logging.getLogger(__name__)


def _row_blocks(matrix: scipy.sparse.csr_matrix, parts: int) -> List[scipy.sparse.csr_matrix]:
    """The matrix cut into ``parts`` blocks of rows with about as many stored values each."""
    if parts <= 1 or matrix.shape[0] < 2 * parts:
        return [matrix]
    bounds = np.searchsorted(matrix.indptr, np.linspace(0, matrix.nnz, parts + 1)[1:-1])
    edges = [0, *sorted(set(int(b) for b in bounds)), matrix.shape[0]]
    return [matrix[a:b] for a, b in zip(edges, edges[1:]) if b > a]


def _minimize_unbounded(fun: Any, x0: np.ndarray, maxiter: int, gtol: float) -> optimize.OptimizeResult:
    """``optimize.minimize(fun, x0, method="L-BFGS-B", jac=True, options={"gtol": gtol,
    "maxiter": maxiter})``, with scipy's other defaults, for a problem without bounds: the same
    calls to L-BFGS-B's Fortran routine in the same order, so the same result to the bit
    (tests/nlu/test_components.py). scipy's own driver first writes out the missing bounds
    as a Python list of (None, None) pairs and walks it, one per variable: with 5.6 million
    variables that was 19 s of every training. Where scipy's routine is not the one this loop was
    written against (scipy 1.10), scipy's own driver runs instead."""
    try:
        from scipy.optimize import _lbfgsb
    except ImportError:  # pragma: no cover - another scipy layout
        _lbfgsb = None
    if _lbfgsb is None or not hasattr(_lbfgsb, "setulb") or not scipy.__version__.startswith("1.10."):
        return optimize.minimize(fun, x0, method="L-BFGS-B", jac=True,
                                 options={"gtol": gtol, "maxiter": maxiter})
    m, maxls, maxfun, iprint = 10, 20, 15000, -1          # scipy's defaults for L-BFGS-B
    factr = 2.2204460492503131e-09 / np.finfo(float).eps   # ftol's default
    x = np.array(x0, dtype=np.float64).ravel()   # a copy: L-BFGS-B updates it in place
    n = x.size
    fortran_int = _lbfgsb.types.intvar.dtype
    nbd = np.zeros(n, fortran_int)                         # 0: no bound on this variable
    low_bnd, upper_bnd = np.zeros(n, np.float64), np.zeros(n, np.float64)
    f = np.array(0.0, np.float64)
    g = np.zeros((n,), np.float64)
    wa = np.zeros(2 * m * n + 5 * n + 11 * m * m + 8 * m, np.float64)
    iwa = np.zeros(3 * n, fortran_int)
    task, csave = np.zeros(1, "S60"), np.zeros(1, "S60")
    lsave, isave, dsave = np.zeros(4, fortran_int), np.zeros(44, fortran_int), np.zeros(29, np.float64)
    task[:] = "START"
    nit = nfev = 0
    while True:
        _lbfgsb.setulb(m, x, low_bnd, upper_bnd, nbd, f, g, factr, gtol, wa, iwa, task, iprint,
                       csave, lsave, isave, dsave, maxls)
        task_str = task.tobytes()
        if task_str.startswith(b"FG"):
            value, grad = fun(np.copy(x))
            f, g = float(value), np.atleast_1d(np.asarray(grad, dtype=np.float64))
            nfev += 1
        elif task_str.startswith(b"NEW_X"):
            nit += 1
            if nit >= maxiter:
                task[:] = "STOP: TOTAL NO. of ITERATIONS REACHED LIMIT"
            elif nfev > maxfun:
                task[:] = "STOP: TOTAL NO. of f AND g EVALUATIONS EXCEEDS LIMIT"
        else:
            break
    message = task.tobytes().strip(b"\x00").strip().decode()
    status = 0 if message.startswith("CONV") else 1 if (nfev > maxfun or nit >= maxiter) else 2
    return optimize.OptimizeResult(x=x, fun=f, jac=g, nit=nit, nfev=nfev, status=status,
                                   message=message, success=status == 0)


class _RowSplitProduct:
    """``matrix @ dense`` with the rows of the sparse matrix shared out among threads."""

    def __init__(self, matrix: scipy.sparse.csr_matrix, pool: Optional[ThreadPoolExecutor], parts: int) -> None:
        self.shape = matrix.shape
        self.blocks = _row_blocks(matrix, parts if pool is not None else 1)
        self.pool = pool

    def __matmul__(self, dense: np.ndarray) -> np.ndarray:
        if len(self.blocks) == 1:
            return self.blocks[0] @ dense
        out = np.empty((self.shape[0], dense.shape[1]), dtype=np.result_type(self.blocks[0].dtype, dense))
        starts = np.cumsum([0] + [b.shape[0] for b in self.blocks])
        futures = [self.pool.submit(block.__matmul__, dense) for block in self.blocks]
        for start, end, future in zip(starts, starts[1:], futures):
            out[start:end] = future.result()
        return out


class _SplitMultinomialLoss:
    """scikit-learn's multinomial logistic loss (sample-weighted sum + 0.5/C * |W|^2, intercept
    unpenalised) and its gradient, over X split into a dense block and a sparse rest."""

    def __init__(self, X: scipy.sparse.csr_matrix, y: np.ndarray, sample_weight: np.ndarray,
                 n_classes: int, C: float, pool: Optional[ThreadPoolExecutor] = None, threads: int = 1) -> None:
        """X: float64 CSR with canonical indices (as ``_fit`` passes it). ``pool``: threads for
        the sparse products (``threads`` blocks each)."""
        n_rows, self.n_features = X.shape
        column_counts = np.bincount(X.indices, minlength=self.n_features)
        # Columns set in (nearly) every row: the e5 vector. The rest stays sparse.
        self.dense_cols = np.flatnonzero(column_counts > 0.5 * n_rows)
        self.sparse_cols = np.setdiff1d(np.arange(self.n_features), self.dense_cols)
        self.dense = X[:, self.dense_cols].toarray()
        sparse = X[:, self.sparse_cols].tocsr()
        self.sparse = _RowSplitProduct(sparse, pool, threads)
        self.sparse_t = _RowSplitProduct(sparse.T.tocsr(), pool, threads)
        self.y = y
        self.rows = np.arange(n_rows)
        self.sample_weight = sample_weight
        self.n_classes = n_classes
        self.alpha = 1.0 / C
        self.n_sparse = len(self.sparse_cols)
        self.size = n_classes * self.n_features + n_classes

    def unpack(self, w: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(weights K x [sparse columns, dense columns], intercepts K)."""
        k = self.n_classes
        return w[: k * self.n_features].reshape(k, self.n_features), w[k * self.n_features:]

    def loss_gradient(self, w: np.ndarray) -> Tuple[float, np.ndarray]:
        weights, intercept = self.unpack(w)
        w_sparse, w_dense = weights[:, : self.n_sparse], weights[:, self.n_sparse:]
        raw = self.sparse @ np.ascontiguousarray(w_sparse.T) + self.dense @ w_dense.T + intercept
        lse = logsumexp(raw, axis=1)
        flat = w[: self.n_classes * self.n_features]
        loss = float(self.sample_weight @ (lse - raw[self.rows, self.y]))
        loss += 0.5 * self.alpha * float(flat @ flat)
        prob = np.exp(raw - lse[:, None])
        prob[self.rows, self.y] -= 1.0
        prob *= self.sample_weight[:, None]
        grad = np.empty_like(w)
        grad_w = grad[: self.n_classes * self.n_features].reshape(self.n_classes, self.n_features)
        grad_w[:, : self.n_sparse] = (self.sparse_t @ prob).T
        grad_w[:, self.n_sparse:] = prob.T @ self.dense
        grad[: self.n_classes * self.n_features] += self.alpha * flat
        grad[self.n_classes * self.n_features:] = prob.sum(axis=0)
        return loss, grad

    def coef(self, w: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """scikit-learn's coef_ (column order of X) and intercept_."""
        weights, intercept = self.unpack(w)
        coef = np.empty((self.n_classes, self.n_features))
        coef[:, self.sparse_cols] = weights[:, : self.n_sparse]
        coef[:, self.dense_cols] = weights[:, self.n_sparse:]
        return coef, intercept.copy()


def _one_row(sparse: Any, dense: np.ndarray) -> Optional[scipy.sparse.csr_matrix]:
    """One message's row of Rasa's matrix, [sparse | dense], as scipy's stacking makes it (indices
    sorted, no zeros stored), or None where the sparse part is not already in that form."""
    sparse = scipy.sparse.coo_matrix(sparse)
    cols, values = sparse.col, sparse.data
    if sparse.shape[0] != 1 or (cols.size > 1 and not np.all(cols[1:] > cols[:-1])) or not np.all(values):
        return None
    dense = dense.ravel()
    filled = np.flatnonzero(dense)
    dtype = np.result_type(values.dtype, dense.dtype)
    indices = np.concatenate([cols, filled + sparse.shape[1]]).astype(np.int32)
    data = np.concatenate([values, dense[filled]]).astype(dtype, copy=False)
    return scipy.sparse.csr_matrix((data, indices, np.array([0, data.size], dtype=np.int32)),
                                   shape=(1, sparse.shape[1] + dense.size))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class FastLogisticRegressionClassifier(LogisticRegressionClassifier):
    """LogisticRegressionClassifier that trains faster and predicts without copying its weights."""

    def _lay_out_for_sparse_rows(self) -> None:
        coef = getattr(self.clf, "coef_", None)
        if coef is not None and not coef.flags["F_CONTIGUOUS"]:
            self.clf.coef_ = np.asfortranarray(coef)

    def _create_X(self, messages: List[Message]) -> scipy.sparse.csr_matrix:
        """Rasa's matrix (each message's sentence features: sparse, then dense), built in one
        step instead of one small matrix per message and a stack of 20,000 of them (20 s of a
        training); a single message (a question at run time) straight from its arrays, without
        scipy's stacking (about 1 ms). A message without one of the two kinds goes Rasa's way."""
        sparse_rows, dense_rows = [], []
        for message in messages:
            sparse = message.get_sparse_features(attribute=TEXT)[1]
            dense = message.get_dense_features(attribute=TEXT)[1]
            if sparse is None or dense is None:
                return super()._create_X(messages)
            sparse_rows.append(sparse.features)
            dense_rows.append(np.asarray(dense.features).reshape(1, -1))
        if len(messages) == 1:
            row = _one_row(sparse_rows[0], dense_rows[0])
            if row is not None:
                return row
        return scipy.sparse.hstack(
            [scipy.sparse.vstack(sparse_rows, format="csr"), scipy.sparse.csr_matrix(np.vstack(dense_rows))],
            format="csr",
        )

    def _fit(self, X: scipy.sparse.csr_matrix, y: List[str]) -> None:
        """What ``self.clf.fit(X, y)`` does for a multinomial lbfgs model, with the dense block
        multiplied densely. Other settings (another solver, two intents) use scikit-learn's fit."""
        clf = self.clf
        labels = LabelEncoder().fit(y)
        if clf.solver != "lbfgs" or len(labels.classes_) < 3:
            clf.fit(X, y)
            return
        X = scipy.sparse.csr_matrix(X, dtype=np.float64)
        X.sum_duplicates()   # one entry per (row, column): the column counts below rely on it
        y_index = labels.transform(y)
        classes = np.arange(len(labels.classes_))
        sample_weight = compute_class_weight("balanced", classes=classes, y=y_index)[y_index]
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        threads = max(1, min(cores, 8))
        with ThreadPoolExecutor(threads) as pool:
            loss = _SplitMultinomialLoss(X, y_index, sample_weight, len(classes), clf.C, pool, threads)
            result = _minimize_unbounded(loss.loss_gradient, np.zeros(loss.size), clf.max_iter, clf.tol)
        if not result.success:
            logger.info("logistic regression: %s after %d iterations", result.message, result.nit)
        clf.classes_ = labels.classes_
        clf.coef_, clf.intercept_ = loss.coef(result.x)
        clf.n_iter_ = np.array([result.nit], dtype=np.int32)
        clf.n_features_in_ = X.shape[1]

    def train(self, training_data: TrainingData) -> Resource:
        """Train the intent classifier on a data set (Rasa's steps, the faster fit)."""
        X, y = self._create_training_matrix(training_data)
        if X.shape[0] == 0:
            return self._resource
        self._fit(X, y)
        self._lay_out_for_sparse_rows()
        self.persist()
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> FastLogisticRegressionClassifier:
        component = super().load(config, model_storage, resource, execution_context, **kwargs)
        component._lay_out_for_sparse_rows()
        return component
