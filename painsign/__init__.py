"""painsign: a continuous, interpretable pain sign for newborns from face video.

The default scorer is a transparent research proxy built from facial landmarks, not a
validated clinical tool.
"""

__version__ = "0.1.0"
