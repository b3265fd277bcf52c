"""Replay and analysis of recorded video: per-frame scores, the sign, reports, figures."""
