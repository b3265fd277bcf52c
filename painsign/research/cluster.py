"""Sign types re-learnt from saved analyses, as in the paper (Ferreira et al.).

The paper clustered (entropy, threshold crossings) per 20-s clip with k-means, k = 2..10
chosen by the highest silhouette score, and named the clusters stable, irregular and
unstable. Here the windows come from any number of ``summary.json`` files written by
``painsign analyze``; :func:`fit_sign_types` fits a
:class:`~painsign.research.signtype_model.SignTypeModel` on them and
:func:`draw_cluster_figure` shows the result beside the paper's centroids and the decision
matrix. The model, saved as JSON, replaces the default classifier with ``painsign
analyze/monitor --sign-types`` (read back by :func:`painsign.signal.learned.load_sign_types`,
re-exported here, without scikit-learn).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from painsign.colours import ACTION_COLOURS, SIGN_TYPE_COLOURS
from painsign.errors import InputError
from painsign.research.signtype_model import SignTypeModel
from painsign.signal.learned import LearnedSignTypes, load_sign_types
from painsign.signal.signtypes import (
    MAX_ENTROPY_BITS,
    PAPER_CENTROIDS,
    REFERENCE_WINDOW_S,
    SignType,
    decision_action,
    normalise_crossings,
)

__all__ = [
    "MIN_WINDOW_S",
    "draw_cluster_figure",
    "fit_sign_types",
    "gather_windows",
    "load_sign_types",
    "read_summary",
]

#: Windows shorter than this are left out: their crossings would be extrapolated to 20 s
#: (the classifiers call them indeterminate for the same reason).
MIN_WINDOW_S = 5.0


def read_summary(path: str | Path) -> dict:
    """Read a ``summary.json`` written by ``painsign analyze``.

    Parameters
    ----------
    path : str or pathlib.Path

    Returns
    -------
    dict
        The summary, with a ``scorers`` mapping.

    Raises
    ------
    InputError
        The file is missing, unreadable, not JSON, or has no ``scorers`` mapping.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(
            f"{path} is not a JSON summary ({exc}); give the summary.json "
            "written by painsign analyze"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("scorers"), dict):
        raise InputError(
            f"{path} has no 'scorers' mapping; give the summary.json written by painsign analyze"
        )
    return data


def _window_rows(path: Path, name: str, entry, non_overlapping: bool):
    """Yield ((entropy, crossings per 20 s), meta) for the usable windows of one scorer."""
    windows = entry.get("windows") if isinstance(entry, dict) else None
    if not isinstance(windows, list):
        raise InputError(f"{path}: scorer {name!r} has no 'windows' list")
    last_end = -math.inf
    for w in windows:
        try:
            t0, t1 = float(w["t0"]), float(w["t1"])
            entropy = w["entropy"]
            crossings = w["crossings"]
        except (KeyError, TypeError, ValueError):
            raise InputError(
                f"{path}: a window of scorer {name!r} lacks t0, t1, entropy or crossings"
            ) from None
        if entropy is None or crossings is None or not t1 - t0 >= MIN_WINDOW_S:
            continue  # no sample in the window, or too short to type
        if non_overlapping and t0 < last_end - 1e-9:
            continue
        last_end = t1
        c_ref = normalise_crossings(float(crossings), t1 - t0, REFERENCE_WINDOW_S)
        meta = {
            "file": str(path),
            "scorer": name,
            "t0": t0,
            "t1": t1,
            "sign_type": w.get("sign_type"),
        }
        yield (float(entropy), c_ref), meta


def gather_windows(
    summary_paths: Iterable[str | Path],
    scorer: str | None = None,
    non_overlapping: bool = False,
) -> tuple[np.ndarray, list[dict]]:
    """Collect (entropy, crossings per 20 s) of the sliding windows of many analyses.

    Windows without a sample (``entropy`` null) and windows shorter than
    :data:`MIN_WINDOW_S` are skipped; crossings are rescaled to 20 s by the window's own
    length (:func:`~painsign.signal.signtypes.normalise_crossings`).

    Parameters
    ----------
    summary_paths : iterable of str or pathlib.Path
        ``summary.json`` files written by ``painsign analyze``.
    scorer : str, optional
        Only this scorer's windows (it must be in every file); default all scorers'.
    non_overlapping : bool, default False
        Keep only windows that do not overlap the previous kept one of the same file and
        scorer (20-s windows by 1 s overlap by 19 s; the paper's clips did not overlap).

    Returns
    -------
    features : numpy.ndarray, shape (n, 2)
        Entropy in bits and crossings per 20 s.
    meta : list of dict
        Per window: ``file``, ``scorer``, ``t0``, ``t1`` and the ``sign_type`` written in
        the summary.

    Raises
    ------
    InputError
        No file given, a file unreadable (named), a scorer missing, or no usable window.

    Examples
    --------
    >>> x, meta = gather_windows(["painsign-demo/summary.json"])  # doctest: +SKIP
    >>> x.shape, meta[0]["scorer"]  # doctest: +SKIP
    ((6, 2), 'nfcs')
    """
    paths = [Path(p) for p in summary_paths]
    if not paths:
        raise InputError("no summary.json given; pass one or more files from painsign analyze")
    rows: list[tuple[float, float]] = []
    meta: list[dict] = []
    for path in paths:
        scorers = read_summary(path)["scorers"]
        if scorer is not None and scorer not in scorers:
            have = ", ".join(scorers) or "none"
            raise InputError(f"{path} has no scorer {scorer!r} (it has: {have})")
        names = [scorer] if scorer is not None else list(scorers)
        for name in names:
            for row, m in _window_rows(path, name, scorers[name], non_overlapping):
                rows.append(row)
                meta.append(m)
    if not rows:
        which = f"scorer {scorer!r}" if scorer else "any scorer"
        raise InputError(
            f"no usable window for {which} in {len(paths)} file(s): windows need a face "
            f"(entropy) and at least {MIN_WINDOW_S:g} s; analyse longer videos with a face"
        )
    return np.array(rows, dtype=float), meta


def fit_sign_types(features, random_state: int | None = 0) -> SignTypeModel:
    """Fit sign types by k-means on (entropy, crossings), k = 2..10 by silhouette.

    A thin wrapper around :meth:`SignTypeModel.fit` that turns its complaints about the
    data into :class:`~painsign.errors.InputError`. Clusters are named stable, irregular,
    unstable (and indeterminate) from their centroids; see
    :class:`~painsign.research.signtype_model.SignTypeModel`.

    Parameters
    ----------
    features : array-like, shape (n, 2)
        Entropy in bits and crossings per 20 s, e.g. from :func:`gather_windows`.
    random_state : int or None, default 0
        Seed of k-means (0: the same windows give the same model).

    Returns
    -------
    SignTypeModel
        Fitted: ``k_``, ``silhouette_``, ``silhouettes_``, ``centroids_``, ``names_``.

    Raises
    ------
    InputError
        No windows, too few windows (at least 3, 2 distinct), or NaN features.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> x = np.vstack([rng.normal(c, 0.1, (15, 2)) for c in [(0.3, 0), (2, 2.5), (2.6, 8)]])
    >>> model = fit_sign_types(x)
    >>> model.k_, sorted(str(n) for n in model.names_)
    (3, ['irregular', 'stable', 'unstable'])
    """
    x = np.asarray(features, dtype=float)
    if x.size == 0:
        raise InputError("no windows to cluster; analyse videos with a face first")
    try:
        return SignTypeModel(random_state=random_state).fit(x)
    except ValueError as exc:
        raise InputError(f"cannot fit sign types: {exc}") from None


def _decision_table(ax) -> None:
    """The decision matrix (Ferreira et al., Fig. 5) as a small table."""
    kinds = [str(k) for k in SignType]
    cells = [[str(decision_action(k, pred)) for pred in (True, False)] for k in kinds]
    table = ax.table(
        cellText=cells,
        rowLabels=kinds,
        colLabels=["pain", "no pain"],
        loc="center",
        cellLoc="center",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1.0, 1.4)
    for (r, c), cell in table.get_celld().items():
        if r >= 1 and c >= 0:
            cell.set_facecolor(ACTION_COLOURS[cells[r - 1][c]])
        elif r >= 1 and c == -1:
            cell.get_text().set_color(SIGN_TYPE_COLOURS[kinds[r - 1]])
    ax.set_axis_off()
    ax.set_title("decision matrix (type x prediction)", fontsize=9)


def draw_cluster_figure(model: LearnedSignTypes, features, path: str | Path) -> None:
    """Write the entropy-crossings scatter of the windows, coloured by named cluster.

    Fitted centroids are large crosses labelled with their names; the paper's Table 3
    centroids (``model.centroids``, DEFAULT: mean of the three models) are hollow circles
    with 1-sd ellipses; the indeterminate region (low entropy, many crossings) is hatched.
    Beside the scatter: the decision matrix and the silhouette score of each k tried.
    Crossings are jittered by up to +-0.15 for display only.

    Parameters
    ----------
    model : LearnedSignTypes
        Fitted (a SignTypeModel) or loaded model.
    features : array-like, shape (n, 2)
        The windows (entropy in bits, crossings per 20 s), usually those it was fitted on.
    path : str or pathlib.Path
        PNG file to write.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Ellipse, Rectangle

    x = np.asarray(features, dtype=float).reshape(-1, 2)
    names = np.array([str(n) for n in model.names_[model.predict(x)]]) if len(x) else []
    fig = Figure(figsize=(11.0, 6.0), dpi=110)
    ax = fig.add_axes((0.07, 0.1, 0.56, 0.8))
    y_top = (
        max(float(x[:, 1].max()) if len(x) else 0.0, float(model.centroids_[:, 1].max()), 10.0)
        + 1.0
    )
    ax.add_patch(
        Rectangle(
            (0, model.high_crossings),
            model.low_entropy_bits,
            y_top - model.high_crossings,
            facecolor="none",
            hatch="//",
            edgecolor=SIGN_TYPE_COLOURS["indeterminate"],
            alpha=0.35,
            lw=0,
            label="indeterminate rule",
        )
    )
    jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(x))
    for kind, colour in SIGN_TYPE_COLOURS.items():
        sel = names == kind
        if np.any(sel):
            ax.scatter(
                x[sel, 0],
                x[sel, 1] + jitter[sel],
                s=14,
                color=colour,
                alpha=0.5,
                lw=0,
                label=f"{kind} windows (n={int(sel.sum())})",
            )
    for j, ((e, c), name) in enumerate(zip(model.centroids_, model.names_, strict=True)):
        ax.scatter(
            [e],
            [c],
            marker="X",
            s=220,
            color=SIGN_TYPE_COLOURS[str(name)],
            edgecolor="k",
            lw=1.2,
            zorder=5,
            label="fitted centroids" if j == 0 else None,
        )
        ax.annotate(
            f"{name}", (e, c), xytext=(8, 8), textcoords="offset points", fontsize=9, weight="bold"
        )
    for i, (kind, cen) in enumerate(PAPER_CENTROIDS[model.centroids].items()):
        colour = SIGN_TYPE_COLOURS[str(kind)]
        ax.add_patch(
            Ellipse(
                (cen.entropy, cen.crossings),
                2 * cen.entropy_sd,
                2 * cen.crossings_sd,
                facecolor="none",
                edgecolor=colour,
                ls="--",
                lw=1,
            )
        )
        ax.scatter(
            [cen.entropy],
            [cen.crossings],
            marker="o",
            s=90,
            facecolor="none",
            edgecolor=colour,
            lw=2,
            zorder=4,
            label=f"paper centroids ({model.centroids}) +-1 sd" if i == 0 else None,
        )
    ax.set_xlim(-0.05, MAX_ENTROPY_BITS + 0.1)
    ax.set_ylim(-0.5, y_top)
    ax.set_xlabel("entropy of the sign (bits, 10 bins on [0, 1])")
    ax.set_ylabel(f"threshold crossings per {REFERENCE_WINDOW_S:g} s (points jittered)")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=7, framealpha=0.9)
    ax.set_title(
        f"sign types by k-means: k = {model.k_}, silhouette {model.silhouette_:.2f}, "
        f"{model.n_windows_} windows (research use)",
        fontsize=10,
    )
    _decision_table(fig.add_axes((0.76, 0.55, 0.2, 0.33)))
    sax = fig.add_axes((0.72, 0.1, 0.25, 0.3))
    ks = sorted(model.silhouettes_)
    sax.bar(
        ks,
        [model.silhouettes_[k] for k in ks],
        color=["#455a64" if k == model.k_ else "#b0bec5" for k in ks],
    )
    sax.set_xticks(ks)
    sax.set_xlabel("k", fontsize=8)
    sax.set_ylabel("silhouette", fontsize=8)
    sax.tick_params(labelsize=7)
    sax.set_title("silhouette by k (best chosen)", fontsize=9)
    fig.savefig(path)
