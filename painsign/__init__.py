"""painsign: a continuous, interpretable pain sign for newborns from face video.

The default scorer is a transparent research proxy built from facial landmarks, not a
validated clinical tool.
"""

import os
import sys

__version__ = "0.1.0"

#: True when onnxruntime was imported before painsign without the setting, which then
#: came too late.
ORT_IMPORTED_FIRST = "onnxruntime" in sys.modules and os.environ.get("ORT_DISABLE_TELEMETRY") != "1"

# Nothing leaves the machine. onnxruntime's official wheels ship Microsoft's 1DS telemetry:
# on import they create a device id and an event store under
# ~/.cache/Microsoft/DeveloperTools/.onnxruntime/ and within seconds resolve
# mobile.events.data.microsoft.com. ``disable_telemetry_events()`` comes too late (the
# store and the uploader already exist); ORT_DISABLE_TELEMETRY=1, read once when
# onnxruntime is imported, prevents the uploader, the events and the device id for the
# life of the process (onnxruntime's Privacy.md, "Disabling Telemetry"). It is forced,
# not defaulted, and set here because every painsign module that imports onnxruntime
# imports this package first.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
