"""Messages from wherever a fit ran back to the process that runs the search.

scikit-learn calls a callback's hooks where each fit runs: in this process (``n_jobs=1``,
threads) or in a worker process that holds a pickled copy of the callback. The copies
report through a channel: ``open_channel(consumer)`` (this process) listens on a local
socket (``multiprocessing.connection``, a random key authenticates each connection) and
returns a picklable ``Channel``; ``send(channel, message)`` calls ``consumer(message)``
directly in the process that opened the channel, and from any other process sends the
message over the socket and waits until the consumer has handled it, so a fit's task
ends only after its message was heard. The same design as scikit-learn's private
``sklearn.callback._transport``, which we do not import. The socket is local: workers on
other machines (a multi-machine Dask cluster) cannot reach it, and ``send`` raises
``OSError`` there.
"""

import contextlib
import os
import socket
import threading
from collections.abc import Callable
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client, Connection, Listener
from typing import Any, NamedTuple

MAX_CACHED_CONNECTIONS = 16  # a long-lived worker keeps the newest ones


class Channel(NamedTuple):
    """Where to send messages: the listener's address and its key."""

    address: str
    authkey: bytes


_consumers: dict[str, Callable[[Any], None]] = {}  # channels opened in this process
_listeners: dict[str, "_Listening"] = {}
_connections: dict[str, Connection] = {}  # this process's connections to other processes
_sending = threading.Lock()


class _Listening:
    """A channel's listener, its accepting thread and the connections it accepted."""

    def __init__(self, listener: Listener) -> None:
        self.listener = listener
        self.accepted: list[Connection] = []
        self.closing = threading.Event()
        self.closed = threading.Lock()  # held to close an accepted connection, or shut it down
        self.thread: threading.Thread | None = None


def open_channel(consumer: Callable[[Any], None]) -> Channel:
    """Listen for messages to ``consumer``, called on a thread of its own per sender."""
    authkey = os.urandom(32)
    listening = _Listening(Listener(authkey=authkey, backlog=64))
    channel = Channel(listening.listener.address, authkey)
    _consumers[channel.address] = consumer
    _listeners[channel.address] = listening
    listening.thread = threading.Thread(
        target=_accept, args=(listening, consumer), name="skhpo-channel", daemon=True
    )
    listening.thread.start()
    return channel


def close_channel(channel: Channel) -> None:
    """Stop listening; the threads that served the channel end."""
    _consumers.pop(channel.address, None)
    listening = _listeners.pop(channel.address, None)
    if listening is None:
        return
    listening.closing.set()
    if listening.thread.is_alive():  # wake it from accept(): closing the socket does not
        _knock(channel.address)
    listening.listener.close()
    with listening.closed:
        for connection in listening.accepted:  # wake each serving thread from recv()
            if not connection.closed:
                with socket.socket(fileno=os.dup(connection.fileno())) as duplicate:
                    with contextlib.suppress(OSError):
                        duplicate.shutdown(socket.SHUT_RDWR)


def _knock(address: str | tuple) -> None:
    """Connect to ``address`` and hang up at once: a thread blocked in ``accept()`` wakes
    (its handshake fails and it sees the channel closing). A plain socket, not a
    ``Client``: a ``Client`` waits for the handshake, forever if the thread has just
    left ``accept()`` on its own."""
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    with socket.socket(family) as knock, contextlib.suppress(OSError):
        knock.settimeout(1.0)
        knock.connect(address)


def send(channel: Channel, message: Any) -> None:
    """Hand ``message`` to the channel's consumer; return once it has been handled."""
    consumer = _consumers.get(channel.address)
    if consumer is not None:
        consumer(message)
        return
    with _sending:
        connection = _connections.get(channel.address)
        if connection is None:
            while len(_connections) >= MAX_CACHED_CONNECTIONS:
                _connections.pop(next(iter(_connections))).close()
            connection = Client(channel.address, authkey=channel.authkey)
            _connections[channel.address] = connection
        try:
            connection.send(message)
            connection.recv()  # the acknowledgement
        except (OSError, EOFError):
            _connections.pop(channel.address, None)
            raise


def _accept(listening: _Listening, consumer: Callable[[Any], None]) -> None:
    while not listening.closing.is_set():
        try:
            connection = listening.listener.accept()
        except (EOFError, ConnectionError, AuthenticationError):  # a failed handshake
            continue
        except OSError:  # closed, or unusable
            return
        if listening.closing.is_set():
            connection.close()
            return
        listening.accepted.append(connection)
        threading.Thread(
            target=_serve, args=(listening, connection, consumer), name="skhpo-channel", daemon=True
        ).start()


def _serve(listening: _Listening, connection: Connection, consumer: Callable[[Any], None]) -> None:
    try:
        while True:
            message = connection.recv()
            try:
                consumer(message)
            finally:
                connection.send(None)
    except (EOFError, OSError):  # the sender or the channel closed
        pass
    finally:
        with listening.closed:
            connection.close()
