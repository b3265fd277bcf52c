"""The parts of a batch that need no cluster: inputs, folder names, index.csv, the job.

(The batch on a real Dask cluster is tested in tests/test_batch.py.)
"""

from __future__ import annotations

import subprocess
import sys

from painsign.batch.index import BatchIndex, read_index
from painsign.batch.inputs import collect_videos, output_names, read_video_list
from painsign.batch.job import AnalysisJob

SCORERS = ("pain", "expression", "nfcs")


def test_inputs_folders_and_csv_lists(tmp_path):
    (tmp_path / "v" / "deep").mkdir(parents=True)
    for name in ("b.MP4", "a.mkv", "deep/c.webm", "notes.txt", "deep/d.mov"):
        (tmp_path / "v" / name).write_bytes(b"x")
    lst = tmp_path / "lists" / "list.csv"
    lst.parent.mkdir()
    lst.write_text(f"id,video\n1,../v/a.mkv\n2,{tmp_path / 'v' / 'x.avi'}\n3,\n")
    plain = tmp_path / "plain.csv"
    plain.write_text("v/deep/c.webm,label\nv/b.MP4,2\n")
    assert [p.name for p in read_video_list(lst)] == ["a.mkv", "x.avi"]
    assert read_video_list(lst)[0] == lst.parent / "../v/a.mkv"
    assert [p.name for p in read_video_list(plain)] == ["c.webm", "b.MP4"]
    found = collect_videos([tmp_path / "v", lst])
    # sorted by path, suffixes in any case, the CSV's a.mkv already found: kept once
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "v/a.mkv",
        "v/b.MP4",
        "v/deep/c.webm",
        "v/deep/d.mov",
        "v/x.avi",
    ]
    assert all(p.is_absolute() for p in found)


def test_output_names_are_unique_and_do_not_depend_on_order(tmp_path):
    videos = [tmp_path / "x" / "a.mp4", tmp_path / "y" / "a.mkv", tmp_path / "b.mp4"]
    names = {i.video: i.name for i in output_names(videos)}
    assert names[videos[2]] == "b"
    assert len(set(names.values())) == 3
    assert names[videos[0]].startswith("a-") and names[videos[1]].startswith("a-")
    assert {i.video: i.name for i in output_names(videos[::-1])} == names


def test_index_is_rewritten_whole(tmp_path):
    index = BatchIndex(tmp_path / "index.csv", [{"video": "v", "status": "pending"}])
    index.write()
    index.set(0, {"video": "v", "status": "ok", "frames": 3, "scorers": ["s"], "s_mean": 0.5})
    rows = read_index(tmp_path / "index.csv")
    assert rows == [
        {
            "video": "v",
            "status": "ok",
            "error": "",
            "duration_s": "",
            "frames": "3",
            "frames_with_face": "",
            "s_mean": "0.5",
            "s_prediction": "",
            "s_sign_type": "",
            "s_review": "",
            "output": "",
        }
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["index.csv"]


def test_job_fingerprint_follows_what_changes_the_outputs(tmp_path):
    model = tmp_path / "m.onnx"
    model.write_bytes(b"one")
    job = AnalysisJob(plugins=(str(model),))
    assert job.fingerprint() == AnalysisJob(plugins=(str(model),), pipelined=False).fingerprint()
    assert job.fingerprint() != AnalysisJob(plugins=(str(model),), window_s=10).fingerprint()
    before = job.fingerprint()
    model.write_bytes(b"two")  # the same path, another model
    assert job.fingerprint() != before


def test_tasks_use_threads_only_where_workers_would_be_idle():
    from painsign.batch.runner import task_job

    job = AnalysisJob()
    assert task_job(job, tasks=1, workers=2) is job  # a lone video: decode, locate ahead
    assert task_job(job, tasks=1, workers=16).pipelined
    for tasks, workers in [(2, 2), (8, 2), (1, 1), (3, 0)]:
        single = task_job(job, tasks, workers)
        assert not single.pipelined
        assert single.fingerprint() == job.fingerprint()  # a rerun still finds its outputs


def test_job_loads_models_once_per_process():
    job = AnalysisJob(calibration=2.0)
    first = job.analyzer()
    assert AnalysisJob(calibration=2.0, window_s=5.0).analyzer() is first
    assert AnalysisJob(calibration=1.0).analyzer() is not first
    assert [s.name for s in first.scorers] == list(SCORERS)


def test_one_video_stays_in_one_process():
    """Importing the command line does not import Dask: one video pays nothing for it."""
    r = subprocess.run(
        [sys.executable, "-c", "import sys, painsign.cli; print('distributed' in sys.modules)"],
        capture_output=True,
        text=True,
    )
    assert r.stdout.strip() == "False", r.stderr
