"""Synthetic expressions on a real face, for tests and the demo."""
