"""The live monitor: a Qt-free engine (capture, inference, signs, alarms, recording)."""
