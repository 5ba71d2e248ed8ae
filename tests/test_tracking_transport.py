"""The channel that brings the workers' messages back (``tracking.transport``): from
another process over its socket, in this process directly; its threads end with it."""

import pickle
import subprocess
import sys
import threading
import time
from multiprocessing import AuthenticationError
from multiprocessing.connection import Client
from pathlib import Path

import pytest

from sklearn_keras_hpo.tracking import transport

ROOT = Path(__file__).resolve().parents[1]
SEND = (
    "import pickle, sys\n"
    "from sklearn_keras_hpo.tracking import transport\n"
    "channel = pickle.loads(bytes.fromhex(sys.argv[1]))\n"
    "for i in range(3):\n"
    "    transport.send(channel, ('fit', i))\n"
)


def channel_threads():
    """The channel threads running now (a thread is listed a moment before it counts as
    started, and cannot be joined in that moment)."""
    return [
        thread
        for thread in threading.enumerate()
        if thread.name == "skhpo-channel" and thread.is_alive()
    ]


def test_messages_from_another_process_are_handled_before_send_returns():
    heard = []
    channel = transport.open_channel(heard.append)
    try:
        with pytest.raises(AuthenticationError):  # without the key: refused, the channel goes on
            Client(channel.address, authkey=b"not the key")
        done = subprocess.run(
            [sys.executable, "-c", SEND, pickle.dumps(channel).hex()],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert heard == [("fit", 0), ("fit", 1), ("fit", 2)]
    finally:
        transport.close_channel(channel)


def test_in_the_process_that_opened_it_the_consumer_is_called_directly():
    heard = []
    channel = transport.open_channel(lambda message: heard.append((message, threading.get_ident())))
    try:
        transport.send(channel, "fit")
    finally:
        transport.close_channel(channel)
    assert heard == [("fit", threading.get_ident())]


def test_closing_a_channel_ends_its_threads():
    others = set(channel_threads())
    channel = transport.open_channel(lambda message: None)
    sender = Client(channel.address, authkey=channel.authkey)  # served until the channel closes
    deadline = time.monotonic() + 30
    while len(set(channel_threads()) - others) < 2:  # accepting, serving
        assert time.monotonic() < deadline
        time.sleep(0.01)
    mine = set(channel_threads()) - others
    transport.close_channel(channel)
    for thread in mine:
        thread.join(timeout=30)
        assert not thread.is_alive()
    with pytest.raises((EOFError, OSError)):
        sender.send("late")
        sender.recv()
    sender.close()
