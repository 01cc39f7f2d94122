"""Which configured addresses belong to this machine: the pieces it starts, as opposed to those it only checks."""

from __future__ import annotations

import socket


def is_local(host: str) -> bool:
    """True when this machine can listen on ``host`` (loopback, one of its addresses, or a wildcard)."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return False
    for family, kind, proto, _name, address in infos:
        try:
            with socket.socket(family, kind, proto) as probe:
                probe.bind((address[0], 0))
                return True
        except OSError:
            continue
    return False
