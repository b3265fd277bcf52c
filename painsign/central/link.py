"""The broker address and the MQTT client both sides use (paho-mqtt 2, MQTT 5)."""

from __future__ import annotations

from urllib.parse import urlsplit

from painsign.errors import InputError

#: How to get the MQTT client (the optional ``central`` extra).
CENTRAL_HINT = "pip install 'painsign[central]'"

DEFAULT_PORT = 1883


def parse_broker(url: str) -> tuple[str, int]:
    """Read ``mqtt://HOST[:PORT]`` (port 1883 by default).

    Raises
    ------
    InputError
        For another scheme, a missing host, a bad port, or a path, user or query in it
        (user names and TLS are not built yet).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"broker {url!r} is not mqtt://HOST:PORT ({exc})") from None
    if parts.scheme != "mqtt" or not parts.hostname:
        raise InputError(f"broker {url!r} is not mqtt://HOST:PORT")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise InputError(f"broker {url!r} must be only mqtt://HOST:PORT")
    return parts.hostname, port or DEFAULT_PORT


def new_client(client_id: str):
    """A paho MQTT 5 client with the version-2 callbacks.

    Raises
    ------
    InputError
        When paho-mqtt is not installed (says how to install it).
    """
    try:
        import paho.mqtt.client as mqtt
    except ImportError:
        raise InputError(f"the central link needs paho-mqtt: {CENTRAL_HINT}") from None
    return mqtt.Client(
        callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
    )
