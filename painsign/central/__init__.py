"""The central station: bedside monitors publish to an MQTT broker (Eclipse Mosquitto), a
central station subscribes to every bed of a unit.

Qt-free and beside :mod:`painsign.monitor`: the engine knows only the
:class:`~painsign.monitor.ports.AlarmSink` protocol. Needs the optional ``central`` extra
(``paho-mqtt``); :mod:`painsign.central.schema` needs nothing.
"""
