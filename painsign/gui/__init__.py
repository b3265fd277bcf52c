"""The Qt bedside dashboard: a thin view over :class:`painsign.monitor.MonitorEngine`."""
