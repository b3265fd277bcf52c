"""``painsign bench``: measured speed, latency and memory of the pipeline on this machine."""
