"""The MQTT security options of ``painsign monitor --publish`` and ``painsign central``,
defined once: ``--mqtt-user``, ``--mqtt-password-file`` (or ``$PAINSIGN_MQTT_PASSWORD``)
and ``--mqtt-ca``. There is no password option: a command line shows in ``ps``."""

from __future__ import annotations

import argparse
import logging
import os
import stat
from pathlib import Path

from painsign.errors import InputError

logger = logging.getLogger("painsign.central")

#: The environment variable read for the password when no file is given.
PASSWORD_ENV = "PAINSIGN_MQTT_PASSWORD"


def add_mqtt_options(p: argparse.ArgumentParser) -> None:
    """Add ``--mqtt-user``, ``--mqtt-password-file`` and ``--mqtt-ca`` to ``p``."""
    p.add_argument(
        "--mqtt-user",
        default=None,
        metavar="NAME",
        help="MQTT user name at the broker (a bedside's user name is its --bed topic "
        "label, e.g. bed-12)",
    )
    p.add_argument(
        "--mqtt-password-file",
        type=Path,
        default=None,
        metavar="FILE",
        help=f"the MQTT password: the first line of FILE (mode 0600); otherwise ${PASSWORD_ENV}",
    )
    p.add_argument(
        "--mqtt-ca",
        type=Path,
        default=None,
        metavar="FILE",
        help="TLS to the broker, its certificate verified with this CA file (PEM); "
        "mqtts://HOST:PORT turns TLS on with the system's CAs",
    )


def read_password_file(path: Path) -> str:
    """The first line of ``path``; warns once when others than its owner may read it.

    Raises
    ------
    InputError
        When it is missing, unreadable, not a regular file or empty.
    """
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"--mqtt-password-file {path}: not a regular file")
        with path.open(encoding="utf-8") as f:
            first = f.readline().rstrip("\r\n")
    except FileNotFoundError:
        raise InputError(f"--mqtt-password-file {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"--mqtt-password-file {path}: cannot be read ({exc})") from None
    if not first:
        raise InputError(f"--mqtt-password-file {path}: the first line is empty")
    if info.st_mode & 0o077:
        logger.warning(
            "the MQTT password file %s may be read by others (mode %o): chmod 600 it",
            path,
            stat.S_IMODE(info.st_mode),
        )
    return first


def mqtt_security(args: argparse.Namespace, scheme_tls: bool = False):
    """The :class:`~painsign.central.link.MqttSecurity` of the options.

    Parameters
    ----------
    args : argparse.Namespace
        With the options of :func:`add_mqtt_options`.
    scheme_tls : bool
        Whether the broker URL is ``mqtts://``.

    Raises
    ------
    InputError
        For a user without a password, a password file without a user, a missing or
        unreadable password or CA file.
    """
    from painsign.central.link import MqttSecurity

    password = None
    if args.mqtt_password_file is not None:
        password = read_password_file(args.mqtt_password_file)
    elif os.environ.get(PASSWORD_ENV):
        password = os.environ[PASSWORD_ENV]
    if args.mqtt_password_file is not None and args.mqtt_user is None:
        raise InputError("--mqtt-password-file needs --mqtt-user NAME")
    if args.mqtt_user is not None and password is None:
        raise InputError(
            f"--mqtt-user needs a password: --mqtt-password-file FILE or ${PASSWORD_ENV}"
        )
    ca = args.mqtt_ca
    if ca is not None:
        if not ca.is_file() or not os.access(ca, os.R_OK):
            raise InputError(f"--mqtt-ca {ca}: no such readable file")
    return MqttSecurity(
        user=args.mqtt_user,
        password=password if args.mqtt_user is not None else None,
        ca=None if ca is None else str(ca),
        tls=scheme_tls,
    )
