"""A real HTTP receiver on loopback for webhook tests and benchmarks.

It answers from a script of responses (status, headers, delay) and records every request
it received, in order.
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # A body sent as this many bytes, one every `drip` seconds, with no length announced
    # (a receiver that never finishes its answer); 0: the usual "ok".
    dripped_bytes: int = 0
    drip: float = 0.0
    # The status line and headers sent a byte every this many seconds (a receiver that
    # holds the connection with an answer that never quite starts); 0: sent at once.
    dripped_head: float = 0.0


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


class _Server(ThreadingHTTPServer):
    # A web server's usual listen backlog: socketserver's default of 5 drops the
    # connections of a sender posting a few requests side by side, which then wait a
    # second for TCP to try again.
    request_queue_size = 128


class Receiver:
    def __init__(self, script: list[Reply] | None = None, default: Reply | None = None) -> None:
        self.script = list(script or [])
        self.default = default or Reply()
        self.received: list[Received] = []
        self.completed = 0  # responses written out in full
        self._lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        # Closing must not wait for a handler that is still sleeping through a delay.
        self.server.block_on_close = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def _next_reply(self) -> Reply:
        with self._lock:
            return self.script.pop(0) if self.script else self.default

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                if len(body) < length:
                    return  # the sender went away mid-body (killed): nothing was received
                with receiver._lock:
                    receiver.received.append(
                        Received({k.lower(): v for k, v in self.headers.items()}, body)
                    )
                reply = receiver._next_reply()
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    if reply.dripped_head:
                        head = f"HTTP/1.1 {reply.status} OK\r\ncontent-length: 2\r\n\r\n"
                        for byte in head.encode():
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(reply.dripped_head)
                        self.wfile.write(b"ok")
                        self.close_connection = True
                        with receiver._lock:
                            receiver.completed += 1
                        return
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    if reply.dripped_bytes:
                        self.end_headers()
                        for _ in range(reply.dripped_bytes):
                            self.wfile.write(b"x")
                            self.wfile.flush()
                            time.sleep(reply.drip)
                        self.close_connection = True
                    else:
                        self.send_header("content-length", "2")
                        self.end_headers()
                        self.wfile.write(b"ok")
                    with receiver._lock:
                        receiver.completed += 1
                except OSError:
                    pass  # the sender went away (killed mid-request)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return
            time.sleep(0.02)
        raise AssertionError(f"received {len(self.received)} requests, expected {count}")


@contextmanager
def running_receiver(
    script: list[Reply] | None = None, default: Reply | None = None
) -> Iterator[Receiver]:
    receiver = Receiver(script, default)
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
