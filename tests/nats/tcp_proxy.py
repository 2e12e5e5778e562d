#!/usr/bin/env python3
"""A TCP forwarder on loopback for the nats fault tests: cut a client's connection by killing it.

    python3 tcp_proxy.py LISTEN_PORT TARGET_PORT

Accepts on 127.0.0.1:LISTEN_PORT and copies bytes both ways to 127.0.0.1:TARGET_PORT, one
thread per direction. Killed (SIGKILL) it closes every connection at once; started again on
the same port it accepts the client's reconnects. Prints "ready" once it listens.
"""
import socket
import sys
import threading


def pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def main():
    listen, target = int(sys.argv[1]), int(sys.argv[2])
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", listen))
    srv.listen(64)
    print("ready", flush=True)
    while True:
        client, _ = srv.accept()
        try:
            upstream = socket.create_connection(("127.0.0.1", target))
        except OSError:
            client.close()
            continue
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=pipe, args=(a, b), daemon=True).start()


main()
