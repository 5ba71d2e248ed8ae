"""Real services for the tracking tests: free ports, waiting for a server, ending a
process, and headless Chromium driven over the DevTools protocol (a screenshot, and the
page's text with the shadow DOM that ``--dump-dom`` leaves out)."""

import json
import socket
import subprocess
import time

import pytest


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url, process, seconds):
    """Poll ``url`` until it answers 200 (bounded); fail if ``process`` exits first."""
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited: {process.stderr.read()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the server did not answer {url} within {seconds} s")


SHADOW_TEXT = """(function walk(node) {
  let text = '';
  if (node.shadowRoot) text += walk(node.shadowRoot);
  for (const child of node.childNodes)
    text += child.nodeType === 3 ? child.textContent + ' ' : walk(child);
  return text;
})(document.body)"""


def render(chromium, url, until, seconds):
    """(PNG screenshot, visible text) of ``url`` in headless Chromium, over the DevTools
    protocol (``--dump-dom`` leaves out the shadow DOM TensorBoard draws its tables in)."""
    import asyncio
    import urllib.request

    port = free_port()
    browser = subprocess.Popen(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--window-size=1400,900",
            f"--remote-debugging-port={port}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/json/list", timeout=2
                ) as response:
                    pages = json.load(response)
                break
            except OSError:
                assert time.monotonic() < deadline, "chromium did not start"
                time.sleep(0.5)
        socket_url = next(page["webSocketDebuggerUrl"] for page in pages if page["type"] == "page")
        return asyncio.run(_devtools(socket_url, url, until, seconds))
    finally:
        end(browser)


async def _devtools(socket_url, url, until, seconds):
    import asyncio
    import base64

    import aiohttp

    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(socket_url, max_msg_size=0) as ws,
    ):
        counter = iter(range(1, 1_000_000))

        async def call(method, **params):
            number = next(counter)
            await ws.send_json({"id": number, "method": method, "params": params})
            while True:
                message = json.loads((await ws.receive(timeout=60)).data)
                if message.get("id") == number:
                    return message.get("result", {})

        await call("Page.enable")
        await call("Page.navigate", url=url)
        deadline, text = time.monotonic() + seconds, ""
        while until not in text and time.monotonic() < deadline:
            await asyncio.sleep(2)
            found = await call("Runtime.evaluate", expression=SHADOW_TEXT, returnByValue=True)
            text = found.get("result", {}).get("value", "")
        await asyncio.sleep(1)
        shot = await call("Page.captureScreenshot", format="png")
        return base64.b64decode(shot["data"]), text


def end(process):
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
