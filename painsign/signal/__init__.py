"""The pain sign as a signal: smoothing, window metrics, sign types, live stream, events.

Pure numpy/scipy; no camera, no Qt, no model runtime, no scikit-learn (the k-means
learner of sign types is :mod:`painsign.research.signtype_model`). Definitions follow
Ferreira et al. (README, References):

* :mod:`~painsign.signal.smoothing` — gap filling and the 1-s trailing moving average.
* :mod:`~painsign.signal.metrics` — mean, prediction, entropy, crossings per window.
* :mod:`~painsign.signal.signtypes` — stable / irregular / unstable / indeterminate and the
  decision matrix.
* :mod:`~painsign.signal.learned` — sign types learnt by ``painsign cluster``, read back.
* :mod:`~painsign.signal.stream` — the same numbers live, one sample at a time.
* :mod:`~painsign.signal.events` — surge and drop triggers.
* :mod:`~painsign.signal.threshold` — which side of its threshold a value is on (the one
  rule of crossings, predictions, alarms and snapshots).
"""

from painsign.signal.events import DROP, SURGE, Event, EventDetector, detect_events
from painsign.signal.learned import LearnedSignTypes, load_sign_types
from painsign.signal.metrics import (
    ENTROPY_BINS,
    WindowMetrics,
    crossing_indices,
    entropy_shannon,
    sliding_windows,
    threshold_crossings,
    whole_record_metrics,
    window_bounds,
    window_metrics,
)
from painsign.signal.signtypes import (
    MAX_ENTROPY_BITS,
    MODEL_THRESHOLDS,
    PAPER_CENTROIDS,
    REFERENCE_WINDOW_S,
    Action,
    Centroid,
    NearestCentroidSignTypes,
    SignType,
    SignTypeClassifier,
    decision_action,
    feature_scale,
    normalise_crossings,
)
from painsign.signal.smoothing import (
    interpolate_gaps,
    moving_average,
    smooth_sign,
    smoothing_window,
)
from painsign.signal.stream import SignSample, SignStream
from painsign.signal.threshold import above, threshold_side

__all__ = [
    "DROP",
    "ENTROPY_BINS",
    "MAX_ENTROPY_BITS",
    "MODEL_THRESHOLDS",
    "PAPER_CENTROIDS",
    "REFERENCE_WINDOW_S",
    "SURGE",
    "Action",
    "Centroid",
    "Event",
    "EventDetector",
    "LearnedSignTypes",
    "NearestCentroidSignTypes",
    "SignSample",
    "SignStream",
    "SignType",
    "SignTypeClassifier",
    "WindowMetrics",
    "above",
    "crossing_indices",
    "decision_action",
    "detect_events",
    "entropy_shannon",
    "feature_scale",
    "interpolate_gaps",
    "load_sign_types",
    "moving_average",
    "normalise_crossings",
    "sliding_windows",
    "smooth_sign",
    "smoothing_window",
    "threshold_crossings",
    "threshold_side",
    "whole_record_metrics",
    "window_bounds",
    "window_metrics",
]
