"""What a worker needs to analyse one video: the options of ``painsign analyze``, no model.

An :class:`AnalysisJob` is small and picklable, so Dask ships it with every task; the
models are loaded on the worker, once per process (:meth:`AnalysisJob.analyzer`).
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from painsign.analysis.frames import FrameAnalyzer
from painsign.analysis.replay import SignSettings

#: Models built in this process, by the options that choose them (one entry in practice).
_ANALYZERS: dict[tuple, FrameAnalyzer] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class AnalysisJob:
    """The options of one ``painsign analyze`` run, as a worker needs them.

    Attributes
    ----------
    models : str or None
        The models folder (``--models``); None for the bundled models.
    plugins : tuple of str
        ``--model`` ONNX classifiers, in order.
    no_nfcs : bool
        Leave out the built-in scorers.
    calibration : float
        NFCS rest window in seconds.
    detector : str
        The BlazeFace model tried first.
    sign_types : str or None
        A sign-type model from ``painsign cluster``.
    window_s, step_s, surge_rise, surge_within_s : float
        Sliding windows and event triggers.
    figure : bool
        Draw sign.png.
    pipelined : bool
        Decode and locate faces ahead in threads of their own (the one-process default).
        The results are the same either way; the runner turns it off for the tasks of a
        busy cluster, whose workers have a core each (:func:`~painsign.batch.runner.task_job`).
    """

    models: str | None = None
    plugins: tuple[str, ...] = ()
    no_nfcs: bool = False
    calibration: float = 3.0
    detector: str = "full_range"
    sign_types: str | None = None
    window_s: float = 20.0
    step_s: float = 1.0
    surge_rise: float = 0.3
    surge_within_s: float = 3.0
    figure: bool = True
    pipelined: bool = True

    @classmethod
    def from_args(cls, args) -> AnalysisJob:
        """Build the job from the ``painsign analyze`` namespace.

        Parameters
        ----------
        args : argparse.Namespace
            With ``models``, ``model``, ``no_nfcs``, ``calibration``, ``detector``,
            ``sign_types``, ``window``, ``step``, ``surge_rise``, ``surge_within`` and
            ``no_figure``.

        Returns
        -------
        AnalysisJob
            Paths made absolute, so that a worker started elsewhere finds them.
        """

        def absolute(p) -> str | None:
            return None if p is None else str(Path(p).expanduser().absolute())

        return cls(
            models=absolute(getattr(args, "models", None)),
            plugins=tuple(absolute(m) or "" for m in args.model),
            no_nfcs=bool(args.no_nfcs),
            calibration=float(args.calibration),
            detector=str(args.detector),
            sign_types=absolute(args.sign_types),
            window_s=float(args.window),
            step_s=float(args.step),
            surge_rise=float(args.surge_rise),
            surge_within_s=float(args.surge_within),
            figure=not args.no_figure,
        )

    def analyzer(self) -> FrameAnalyzer:
        """The face tracker and scorers of this job, loaded once per process and reset.

        Returns
        -------
        FrameAnalyzer
            The same object for every job of this process with the same model options;
            its track, face run and scorer baselines are forgotten here (a worker runs one
            task at a time: one thread per worker).
        """
        key = (self.models, self.plugins, self.no_nfcs, self.calibration, self.detector)
        with _LOCK:
            analyzer = _ANALYZERS.get(key)
            if analyzer is None:
                analyzer = _ANALYZERS[key] = self._build_analyzer()
        analyzer.reset()
        return analyzer

    def _build_analyzer(self) -> FrameAnalyzer:
        from painsign.model_store import ModelStore
        from painsign.scoring.default import default_scorers
        from painsign.scoring.onnx_scorer import OnnxClassifierScorer
        from painsign.vision.detector import FaceDetector
        from painsign.vision.landmarks import FaceLandmarker
        from painsign.vision.tracker import FaceTracker

        # The same scorers as cli.scorer_options.build_scorers, which has already checked
        # the options and the plug-ins' names in the client.
        store = ModelStore(self.models)
        scorers = [] if self.no_nfcs else default_scorers(self.calibration, store)
        scorers += [OnnxClassifierScorer(m) for m in self.plugins]
        tracker = FaceTracker(FaceDetector(self.detector, store=store), FaceLandmarker(store=store))
        return FrameAnalyzer(tracker, scorers)

    def sign_settings(self) -> SignSettings:
        """The windows, event triggers and sign-type model of this job.

        Returns
        -------
        SignSettings
        """
        from painsign.signal.learned import load_sign_types

        classifier = None if self.sign_types is None else load_sign_types(Path(self.sign_types))
        return SignSettings(
            window_s=self.window_s,
            step_s=self.step_s,
            surge_rise=self.surge_rise,
            surge_within_s=self.surge_within_s,
            classifier=classifier,
        )

    def fingerprint(self) -> str:
        """A digest of every option that changes the outputs, and of the model files.

        Two runs with the same fingerprint on the same input file write the same outputs,
        so a rerun may skip a video whose outputs carry it. ``pipelined`` does not count
        (same results); the content of ``--model`` files and of the sign-type model does,
        and so does the painsign version.

        Returns
        -------
        str
            40 hex digits.
        """
        from painsign import __version__

        options = asdict(self)
        options.pop("pipelined")
        options["painsign"] = __version__
        options["files"] = {
            p: _file_digest(p) for p in (*self.plugins, self.sign_types) if p is not None
        }
        text = json.dumps(options, sort_keys=True)
        return hashlib.sha1(text.encode()).hexdigest()


def _file_digest(path: str) -> str:
    """sha1 of a small file (a model or its sidecar); '' when it cannot be read."""
    digest = hashlib.sha1()
    try:
        for p in (Path(path), Path(path).with_suffix(".json")):
            if p.is_file():
                digest.update(p.read_bytes())
    except OSError:
        return ""
    return digest.hexdigest()
