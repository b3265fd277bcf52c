"""The figures of ``painsign evaluate``: ROC, precision-recall and calibration curves,
one curve per scorer, from the scores :mod:`painsign.research.evaluate` computed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from painsign.colours import FIGURE_COLOURS as COLOURS
from painsign.research.metrics import precision_recall_points, roc_curve_points

if TYPE_CHECKING:
    from painsign.research.evaluate import ItemScore


def draw_figures(scored: list[ItemScore], result: dict, out: Path) -> None:
    """Write ``roc.png``, ``pr.png`` and ``calibration.png`` (one curve per scorer)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = np.array([r.item.label for r in scored], dtype=np.int64)
    curves = []
    for i, (name, entry) in enumerate(result["scorers"].items()):
        s = np.array([r.scores[name] for r in scored], dtype=np.float64)
        ok = np.isfinite(s)
        if entry.get("auc") is not None:
            curves.append((name, entry, labels[ok], s[ok], COLOURS[i % len(COLOURS)]))
    n, pain = result["items"], result["pain"]
    head = f"painsign research evaluation: {n} items ({pain} pain)"
    foot = "Research software, not a validated clinical tool."

    fig, ax = plt.subplots(figsize=(6.4, 6.0), dpi=110)
    ax.plot([0, 1], [0, 1], ":", color="0.6", lw=1, label="chance")
    for name, entry, y, s, c in curves:
        fpr, tpr, _ = roc_curve_points(y, s)
        ax.plot(fpr, tpr, "-", color=c, lw=2, label=f"{name}: AUC {entry['auc']:.3f}")
        yd, own = entry["youden"], entry["at_threshold"]
        ax.plot(
            1 - yd["specificity"],
            yd["sensitivity"],
            "o",
            color=c,
            mfc="none",
            ms=9,
            label=f"{name}: Youden threshold {yd['threshold']:.3f}",
        )
        ax.plot(
            1 - own["specificity"],
            own["sensitivity"],
            "s",
            color=c,
            ms=6,
            label=f"{name}: own threshold {own['threshold']:.3f}",
        )
    _finish(
        ax,
        fig,
        "false positive rate (1 - specificity)",
        "true positive rate (sensitivity)",
        f"{head}\nROC",
        foot,
        curves,
    )
    fig.savefig(out / "roc.png")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6.4, 6.0), dpi=110)
    for name, _, y, s, c in curves:
        ax.axhline(y.mean(), ls=":", color=c, lw=1, label=f"{name}: prevalence {y.mean():.2f}")
        precision, recall, _ = precision_recall_points(y, s)
        ax.plot(recall, precision, "-", color=c, lw=2, label=name)
    _finish(
        ax,
        fig,
        "recall (sensitivity)",
        "precision (positive predictive value)",
        f"{head}\nprecision-recall",
        foot,
        curves,
    )
    fig.savefig(out / "pr.png")
    plt.close(fig)

    fig, (ax, hist) = plt.subplots(
        2, 1, figsize=(6.4, 7.2), dpi=110, sharex=True, gridspec_kw={"height_ratios": (3, 1)}
    )
    ax.plot([0, 1], [0, 1], ":", color="0.6", lw=1, label="perfectly calibrated")
    for name, entry, _, s, c in curves:
        cal = entry.get("calibration")
        if cal is None:
            continue
        ax.plot(
            cal["prob_pred"],
            cal["prob_true"],
            "o-",
            color=c,
            lw=2,
            label=f"{name}: Brier {entry['brier']:.3f}",
        )
        hist.hist(s, bins=10, range=(0, 1), histtype="step", color=c, lw=1.5)
    hist.set_ylabel("items")
    hist.set_xlabel("mean P(pain) in bin")
    _finish(
        ax, fig, None, "observed fraction of pain", f"{head}\nreliability diagram", foot, curves
    )
    fig.savefig(out / "calibration.png")
    plt.close(fig)


def _finish(ax, fig, xlabel, ylabel, title, foot, curves) -> None:
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    if xlabel:
        ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    if not curves:
        ax.text(
            0.5,
            0.5,
            "no scorer has both pain and no-pain items with a face",
            ha="center",
            va="center",
            fontsize=9,
        )
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", fontsize=7)
    fig.text(0.01, 0.005, foot, fontsize=7, color="0.4")
    fig.tight_layout(rect=(0, 0.02, 1, 1))
