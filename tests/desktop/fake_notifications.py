"""A stand-in notification daemon on the test's session bus (pure Python,
jeepney): owns org.freedesktop.Notifications, answers Notify and the
capability calls, and prints one JSON line per Notify (app, summary, body)
so a test can see what the desktop app raised.

Usage: DBUS_SESSION_BUS_ADDRESS=... python fake_notifications.py
"""

import json
import sys

from jeepney import DBusAddress, HeaderFields, MessageType, new_error, new_method_return
from jeepney.bus_messages import message_bus
from jeepney.io.blocking import open_dbus_connection

NAME = "org.freedesktop.Notifications"


def main() -> None:
    conn = open_dbus_connection(bus="SESSION")
    reply = conn.send_and_get_reply(message_bus.RequestName(NAME, 4))  # 4: do not queue
    if reply.body[0] != 1:
        sys.exit(f"cannot own {NAME}: {reply.body}")
    print("ready", flush=True)
    next_id = 1
    while True:
        msg = conn.receive()
        if msg.header.message_type != MessageType.method_call:
            continue
        member = msg.header.fields.get(HeaderFields.member)
        if member == "Notify":
            app, _, _, summary, body = msg.body[:5]
            print(json.dumps({"app": app, "summary": summary, "body": body}), flush=True)
            conn.send(new_method_return(msg, "u", (next_id,)))
            next_id += 1
        elif member == "GetCapabilities":
            conn.send(new_method_return(msg, "as", (["body"],)))
        elif member == "GetServerInformation":
            conn.send(new_method_return(msg, "ssss", ("fake", "tokenbuddy-tests", "1", "1.2")))
        elif member == "CloseNotification":
            conn.send(new_method_return(msg))
        else:
            conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "s", (str(member),)))


if __name__ == "__main__":
    main()
