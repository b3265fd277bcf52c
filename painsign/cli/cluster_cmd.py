"""``painsign cluster SUMMARY.json ...``: re-learn sign types by k-means, as in the paper."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``cluster`` subcommand."""
    p = sub.add_parser(
        "cluster",
        help="learn sign types by k-means from analyses (research)",
        description="Cluster the (entropy, crossings) windows of one or more summary.json "
        "files by k-means (k = 2..10, best silhouette), name the clusters stable, irregular, "
        "unstable (indeterminate) and write DIR/sign_types.json and DIR/clusters.png. Use "
        "the model with painsign analyze/monitor --sign-types DIR/sign_types.json.",
    )
    p.add_argument(
        "summaries",
        nargs="+",
        type=Path,
        metavar="SUMMARY.json",
        help="summary.json files written by painsign analyze",
    )
    p.add_argument(
        "--scorer",
        default=None,
        metavar="NAME",
        help="only this scorer's windows (default: every scorer's)",
    )
    p.add_argument(
        "--non-overlapping",
        action="store_true",
        help="keep only windows that do not overlap (like the paper's clips)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("painsign-cluster"),
        metavar="DIR",
        help="output folder (default: ./painsign-cluster)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Fit, save and draw the sign types; print k, silhouette and the clusters."""
    # Imported here: the learner needs scikit-learn, which no other command loads.
    from painsign.research.cluster import draw_cluster_figure, fit_sign_types, gather_windows

    features, meta = gather_windows(
        args.summaries, scorer=args.scorer, non_overlapping=getattr(args, "non_overlapping", False)
    )
    model = fit_sign_types(features)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "sign_types.json")
    draw_cluster_figure(model, features, out / "clusters.png")
    files = len({m["file"] for m in meta})
    print(
        f"{len(features)} windows from {files} file(s): k = {model.k_}, silhouette "
        f"{model.silhouette_:.3f}"
    )
    sizes = [int(n) for n in (model.predict(features)[:, None] == range(model.k_)).sum(axis=0)]
    for (e, c), name, size in zip(model.centroids_, model.names_, sizes, strict=True):
        print(
            f"  {name}: {size} windows, centroid entropy {e:.2f} bits, {c:.2f} crossings per 20 s"
        )
    print(f"written to {out}/ (sign_types.json, clusters.png)")
    return 0
