"""The broker address, the MQTT security settings and the client both sides use (paho-mqtt
2, MQTT 5).

User names and passwords never travel in the broker URL or on the command line (they would
show in ``ps``): the password comes from a file or the environment
(:mod:`painsign.cli.mqtt_options`). TLS is on for ``mqtts://`` or with a CA file; the
broker's certificate and host name are always verified.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from painsign.errors import InputError

#: How to get the MQTT client (the optional ``central`` extra).
CENTRAL_HINT = "pip install 'painsign[central]'"

#: MQTT 5 reason code of a DISCONNECT sent when another client connects with the same id.
SESSION_TAKEN_OVER = 142

DEFAULT_PORT = 1883
DEFAULT_TLS_PORT = 8883


@dataclass(frozen=True)
class MqttSecurity:
    """How a client proves who it is and checks the broker (picklable).

    Attributes
    ----------
    user : str or None
        MQTT user name; None for an anonymous client.
    password : str or None
        Its password (never printed: left out of the repr).
    ca : str or None
        CA certificate file (PEM) that signed the broker's certificate; TLS on.
    tls : bool
        TLS without a CA file of our own: the system's CAs verify the broker.
    """

    user: str | None = None
    password: str | None = field(default=None, repr=False)
    ca: str | None = None
    tls: bool = False

    @property
    def uses_tls(self) -> bool:
        """Whether the connection is encrypted."""
        return self.tls or self.ca is not None


@dataclass(frozen=True)
class BrokerAddress:
    """Where the broker listens.

    Attributes
    ----------
    host : str
    port : int
    tls : bool
        True for ``mqtts://``.
    """

    host: str
    port: int
    tls: bool = False

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def parse_broker_address(url: str, tls: bool = False) -> BrokerAddress:
    """Read ``mqtt://HOST[:PORT]`` or ``mqtts://HOST[:PORT]``.

    Parameters
    ----------
    url : str
    tls : bool
        TLS asked for otherwise (``--mqtt-ca``): the default port is then 8883 too.

    Returns
    -------
    BrokerAddress
        Port 1883 by default, 8883 with TLS.

    Raises
    ------
    InputError
        For another scheme, a missing host, a bad port, a path or query, or a user name or
        password in the URL (they would show in ``ps``; the options say how instead).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"broker {url!r} is not mqtt://HOST:PORT ({exc})") from None
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise InputError(f"broker {url!r} is not mqtt://HOST:PORT or mqtts://HOST:PORT")
    if parts.username is not None or parts.password is not None:
        raise InputError(
            "the broker URL must not hold a user name or password (it shows in ps): use "
            "--mqtt-user and --mqtt-password-file or $PAINSIGN_MQTT_PASSWORD"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InputError(f"broker {url!r} must be only mqtt://HOST:PORT")
    tls = tls or parts.scheme == "mqtts"
    return BrokerAddress(parts.hostname, port or (DEFAULT_TLS_PORT if tls else DEFAULT_PORT), tls)


def parse_broker(url: str) -> tuple[str, int]:
    """``(host, port)`` of ``mqtt://HOST[:PORT]`` (see :func:`parse_broker_address`).

    Raises
    ------
    InputError
        For an address :func:`parse_broker_address` refuses.
    """
    address = parse_broker_address(url)
    return address.host, address.port


def new_client(client_id: str, security: MqttSecurity | None = None):
    """A paho MQTT 5 client with the version-2 callbacks, user name and TLS applied.

    Parameters
    ----------
    client_id : str
    security : MqttSecurity, optional
        User, password and CA; an anonymous plain-TCP client without it.

    Raises
    ------
    InputError
        When paho-mqtt is not installed (says how to install it), or the CA file cannot
        be read as a certificate.
    """
    try:
        import paho.mqtt.client as mqtt
    except ImportError:
        raise InputError(f"the central link needs paho-mqtt: {CENTRAL_HINT}") from None
    client = mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
    )
    if security is not None:
        if security.user is not None:
            client.username_pw_set(security.user, security.password)
        if security.uses_tls:
            try:
                client.tls_set(ca_certs=security.ca, cert_reqs=ssl.CERT_REQUIRED)
            except (OSError, ssl.SSLError) as exc:
                raise InputError(f"--mqtt-ca {security.ca}: not a usable CA file ({exc})") from None
    return client


def failure_text(exc: BaseException | None) -> str:
    """Why a connection attempt failed, in words: ``"TLS: certificate verify failed
    (...)"`` for a broker whose certificate or host name does not verify."""
    if exc is None:
        return "cannot connect"
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = getattr(exc, "verify_message", None) or str(exc)
        return f"TLS: certificate verify failed ({detail})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS: {exc.reason or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the broker running?)"
    return str(exc) or type(exc).__name__


#: MQTT 5 CONNACK reason codes of a refused user name or password. Mosquitto 2.0 answers
#: 135 "Not authorized" for a wrong password or an unknown user, and also for a last-will
#: topic the ACL forbids.
BAD_CREDENTIALS, NOT_AUTHORIZED = 134, 135


def refusal_text(reason_code, has_will: bool = False) -> str:
    """A CONNACK refusal in lower-case words.

    Parameters
    ----------
    reason_code : paho ReasonCode
    has_will : bool
        Whether the client set a last will; without one, "not authorized" at connection
        can only mean the user name or password.

    Returns
    -------
    str
        "bad user name or password", "not authorized (user name, password, or the right
        to its own topics)", or paho's words for another code.
    """
    value = getattr(reason_code, "value", None)
    if value == BAD_CREDENTIALS or (value == NOT_AUTHORIZED and not has_will):
        return "bad user name or password"
    if value == NOT_AUTHORIZED:
        return "not authorized (user name, password, or the right to its own topics)"
    return str(reason_code).lower()


#: Reconnection delay (s) while another client keeps taking the session: the other one
#: then holds the link, and this one takes it back for a moment once a minute.
FIGHT_RETRY_S = (60, 60)

#: Seconds of unbroken link after which a session fight counts as over.
STEADY_S = 60.0


class SessionFight:
    """Notice another client taking this client's MQTT session again and again.

    Two clients with one client id throw each other out: the broker closes the older
    connection whenever the other connects, and each reconnects at once. Mosquitto 2.0
    closes the socket without the MQTT 5 reason "Session taken over" (142), so the sign is
    a link that drops within :attr:`short_s` seconds of being made, :attr:`times` times in
    a row. Then the caller should retry slowly and say why.

    Parameters
    ----------
    short_s : float
        A link lost sooner than this after connecting counts.
    times : int
        Short links in a row that make a fight.
    """

    def __init__(self, short_s: float = 3.0, times: int = 3) -> None:
        self.short_s, self.times = short_s, times
        self._since: float | None = None
        self._short = 0

    def connected(self, now: float) -> None:
        """A connection was made at ``now`` (monotonic seconds)."""
        self._since = now

    def steady_for(self, now: float) -> float:
        """Seconds the present connection has lasted (0 when not connected)."""
        return 0.0 if self._since is None else now - self._since

    def lost(self, now: float, reason_code=None) -> bool:
        """The link was lost at ``now``; True when this looks like a session fight (or
        the broker said "Session taken over")."""
        if reason_code is not None and reason_code == SESSION_TAKEN_OVER:
            return True
        if self._since is None:
            return False
        short = now - self._since < self.short_s
        self._since = None
        self._short = self._short + 1 if short else 0
        return self._short >= self.times
