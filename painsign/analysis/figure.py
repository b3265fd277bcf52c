"""The pain-sign figure in the style of Ferreira et al.: signs, threshold, crossings, faces."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from painsign.analysis.replay import Analysis
from painsign.colours import FIGURE_COLOURS as COLOURS
from painsign.signal import crossing_indices

MAX_THUMBS = 40


def legend_label(sign) -> str:
    """One legend line: name, mean, prediction, entropy, crossings, sign type."""
    if sign.whole is None:
        return f"{sign.display_name}: no face, no sign"
    w = sign.whole
    pred = "pain" if w.prediction else "no pain"
    return (
        f"{sign.display_name}: mean {w.mean:.2f}, {pred}, entropy {w.entropy:.2f} bits, "
        f"{w.crossings} crossings, {w.sign_type} ({w.action})"
    )


def draw_sign_figure(analysis: Analysis, path: Path, title: str | None = None) -> None:
    """Write the figure of every scorer's sign over time, with face thumbnails beneath.

    Each scorer's smoothed sign is a line, its raw per-frame P(pain) faint dots, its
    threshold a dashed line, threshold crossings are marked with x, surges and drops
    with triangles; stretches without a face are shaded. Thumbnails of the face at about
    1-s intervals (at most 40, evenly spaced) run under the time axis.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = analysis.t
    thumbs = analysis.thumbnails
    if len(thumbs) > MAX_THUMBS:
        keep = np.linspace(0, len(thumbs) - 1, MAX_THUMBS).round().astype(int)
        thumbs = [thumbs[i] for i in keep]
    fig_w, fig_h = 12.0, 5.6
    fig = plt.figure(figsize=(fig_w, fig_h), dpi=110)
    ax = fig.add_axes((0.06, 0.3, 0.92, 0.5))
    t_end = float(t[-1]) if len(t) else 1.0
    no_face = np.array([not r.face for r in analysis.records])
    for k, (start, stop) in enumerate(_runs(no_face)):
        ax.axvspan(
            t[start],
            t[min(stop, len(t) - 1)],
            color="0.85",
            lw=0,
            label="no face" if k == 0 else None,
        )
    for i, sign in enumerate(analysis.signs.values()):
        c = COLOURS[i % len(COLOURS)]
        ax.plot(t, sign.p_raw, ".", ms=2, color=c, alpha=0.25)
        ax.plot(t, sign.p_smooth, "-", lw=2, color=c, label=legend_label(sign))
        ax.axhline(sign.threshold, color=c, ls="--", lw=1)
        if sign.whole is not None:
            idx = crossing_indices(sign.p_smooth, sign.threshold)
            ax.plot(t[idx], sign.p_smooth[idx], "x", color="k", ms=7, mew=1.5)
            for e in sign.events:
                ax.plot(e.t, e.value, "^" if e.kind == "surge" else "v", color=c, ms=10, mec="k")
    ax.set_xlim(float(t[0]) if len(t) else 0.0, t_end)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("P(pain), 1-s moving average")
    ax.set_xlabel("time (s)")
    ax.grid(alpha=0.3)
    # Above the plot, never over the data.
    entries = len(ax.get_legend_handles_labels()[1])
    ax.legend(
        loc="lower left",
        bbox_to_anchor=(0.0, 1.01),
        fontsize=8,
        frameon=False,
        ncol=1 if entries <= 4 else 2,
        borderaxespad=0.0,
    )
    fig.suptitle(
        title
        or f"pain sign: {analysis.info.path.name}  (research software, not a "
        "validated clinical tool)",
        fontsize=10,
        y=0.985,
    )
    if thumbs:
        _draw_thumbnails(fig, thumbs, fig_w, fig_h)
    fig.savefig(path)
    plt.close(fig)


def _draw_thumbnails(fig, thumbs: list, fig_w: float, fig_h: float) -> None:
    """The faces in a row under the time axis, each framed, its time beneath.

    One axes for the whole row, in inches, rather than one per face: 40 axes took 0.33 s
    of the 0.49 s of a figure, and the figure is drawn for every video of a batch.
    """
    from matplotlib.patches import Rectangle

    n = len(thumbs)
    slot = 0.92 / n
    height = min(0.16, slot * fig_w / fig_h)
    row = fig.add_axes((0.06, 0.2 - height, 0.92, height))
    row.set_axis_off()
    slot_w, box_w, box_h = slot * fig_w, slot * fig_w * 0.96, height * fig_h
    for k, (tt, img) in enumerate(thumbs):
        img_h, img_w = img.shape[:2]
        scale = min(box_w / img_w, box_h / img_h)
        w, h = img_w * scale, img_h * scale
        x0, y0 = k * slot_w + (box_w - w) / 2, (box_h - h) / 2
        row.imshow(img, extent=(x0, x0 + w, y0, y0 + h), aspect="auto")
        row.add_patch(Rectangle((x0, y0), w, h, fill=False, lw=0.8, ec="k"))
        row.text(x0 + w / 2, y0 - 2 / 72, f"{tt:.0f}s", ha="center", va="top", fontsize=6)
    row.set_xlim(0.0, 0.92 * fig_w)
    row.set_ylim(0.0, box_h)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the True runs of ``mask``."""
    padded = np.r_[False, mask, False].astype(int)
    d = np.diff(padded)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1), strict=True))
