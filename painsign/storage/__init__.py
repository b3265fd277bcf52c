"""Session storage: a crash-safe SQLite record of live monitoring, and reading it back.

No Qt, no camera and no OpenCV here: a face snapshot arrives as PNG bytes.

* :mod:`~painsign.storage.db` — schema (sessions, samples, alarms, snapshots), WAL and
  ``synchronous=FULL`` connections, UTC time stamps, the default database path.
* :mod:`~painsign.storage.recorder` — :class:`SessionRecorder` (queue + writer thread,
  commits at least every second; opt-in face snapshots).
* :mod:`~painsign.storage.history` — list, summarise and export stored sessions.
"""

from painsign.storage.db import (
    NO_PAIN,
    PAIN,
    SCHEMA_VERSION,
    TABLES,
    StorageError,
    default_db_path,
    delete_old_snapshots,
    open_db,
    parse_utc,
    to_utc_iso,
    utc_now,
)
from painsign.storage.history import (
    ALARMS_CSV_COLUMNS,
    SAMPLES_CSV_COLUMNS,
    export_alarms_csv,
    export_session_csv,
    list_sessions,
    purge_snapshots,
    session_summary,
)
from painsign.storage.recorder import SessionRecorder

__all__ = [
    "ALARMS_CSV_COLUMNS",
    "NO_PAIN",
    "PAIN",
    "SAMPLES_CSV_COLUMNS",
    "SCHEMA_VERSION",
    "TABLES",
    "SessionRecorder",
    "StorageError",
    "default_db_path",
    "delete_old_snapshots",
    "export_alarms_csv",
    "export_session_csv",
    "list_sessions",
    "open_db",
    "parse_utc",
    "purge_snapshots",
    "session_summary",
    "to_utc_iso",
    "utc_now",
]
