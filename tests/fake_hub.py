"""A local stand-in for the Hugging Face Hub's ``/resolve`` endpoint, for tests that download weights.

Point ``HF_ENDPOINT`` at :attr:`FakeHub.url`; files under ``root`` are served as the repo's files at
``commit`` (and at ``main``). Tests never use the network.

Set :attr:`FakeHub.fault` to make file requests fail the way a real Hub or CDN can (see :data:`FAULTS`);
set it back to None and the next request succeeds.
"""

from __future__ import annotations

import hashlib
import http.server
import threading
from collections import Counter
from pathlib import Path

COMMIT = "0123456789abcdef0123456789abcdef01234567"
REPO = "test-org/tiny-sr"
FAULTS = {
    "http500": "every request for the file answers 500 Internal Server Error",
    "stall": "the download sends its headers and half the body, then nothing until released (or 60 s)",
    "truncate": "the download announces the full length, sends half the body and closes the connection",
    "bad_sha": "the download serves bytes of the right length whose sha256 is not the advertised ETag",
}


class FakeHub:
    """A Hub-like ``/resolve`` endpoint on 127.0.0.1, optionally redirecting LFS files to a second ("CDN") origin."""

    def __init__(self, root: Path, lfs_redirect: bool, repo: str = REPO, commit: str = COMMIT) -> None:
        self.root = root
        self.lfs_redirect = lfs_redirect
        self.repo, self.commit = repo, commit
        self.requests: Counter[tuple[str, str, str]] = Counter()
        self.fault: str | None = None
        self.release = threading.Event()  # ends a "stall" early (set by close())
        self.stalled = threading.Event()  # set when a download has started stalling
        self._lock = threading.Lock()
        self.hub = self._start("hub")
        self.cdn = self._start("cdn")
        self.url = f"http://127.0.0.1:{self.hub.server_address[1]}"
        self.cdn_url = f"http://127.0.0.1:{self.cdn.server_address[1]}"

    def _start(self, role: str) -> http.server.ThreadingHTTPServer:
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                fake._handle(self, role, body=False)

            def do_GET(self) -> None:
                fake._handle(self, role, body=True)

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return server

    def close(self) -> None:
        self.release.set()
        for server in (self.hub, self.cdn):
            server.shutdown()
            server.server_close()

    def count(self, role: str | None = None) -> int:
        with self._lock:
            return sum(n for (r, _, _), n in self.requests.items() if role is None or r == role)

    def _handle(self, req: http.server.BaseHTTPRequestHandler, role: str, body: bool) -> None:
        with self._lock:
            self.requests[(role, req.command, req.path)] += 1
        fault = self.fault
        if role == "cdn":
            data = self._blob(req.path.removeprefix("/cdn/"))
            if data is None:
                return self._send(req, 404, b"", {}, body)
            if fault == "http500":
                return self._send(req, 500, b"Internal Server Error", {}, body)
            return self._send_content(req, data, {"ETag": f'"{hashlib.sha256(data).hexdigest()}"'}, body, fault)

        prefix = f"/{self.repo}/resolve/"
        if not req.path.startswith(prefix):
            return self._send(req, 404, b"", {"X-Error-Code": "RepoNotFound"}, body)
        revision, _, filename = req.path[len(prefix):].partition("/")
        if revision not in (self.commit, "main"):
            return self._send(req, 404, b"", {"X-Error-Code": "RevisionNotFound"}, body)
        path = self.root / filename
        if not path.is_file():
            return self._send(req, 404, b"", {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": self.commit}, body)
        if fault == "http500":
            return self._send(req, 500, b"Internal Server Error", {"X-Repo-Commit": self.commit}, body)
        data = path.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        if self.lfs_redirect:
            return self._send(req, 302, b"", {"Location": f"{self.cdn_url}/cdn/{sha}", "X-Repo-Commit": self.commit,
                                              "X-Linked-Etag": f'"{sha}"', "X-Linked-Size": str(len(data))}, body)
        return self._send_content(req, data, {"X-Repo-Commit": self.commit, "ETag": f'"{sha}"'}, body, fault)

    def _send_content(self, req: http.server.BaseHTTPRequestHandler, data: bytes, headers: dict[str, str],
                      body: bool, fault: str | None) -> None:
        if not body or fault not in ("stall", "truncate", "bad_sha"):
            return self._send(req, 200, data, headers, body)
        if fault == "bad_sha":
            return self._send(req, 200, bytes(b ^ 0x5A for b in data), headers, body)
        req.send_response(200)
        for k, v in headers.items():
            req.send_header(k, v)
        req.send_header("Content-Type", "application/octet-stream")
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        req.wfile.write(data[:len(data) // 2])
        req.wfile.flush()
        if fault == "stall":
            self.stalled.set()
            self.release.wait(60)
        req.close_connection = True

    def _blob(self, sha: str) -> bytes | None:
        for p in (p for p in self.root.rglob("*") if p.is_file()):  # repo files may sit in folders
            data = p.read_bytes()
            if hashlib.sha256(data).hexdigest() == sha:
                return data
        return None

    @staticmethod
    def _send(req: http.server.BaseHTTPRequestHandler, status: int, data: bytes, headers: dict[str, str],
              body: bool) -> None:
        req.send_response(status)
        for k, v in headers.items():
            req.send_header(k, v)
        req.send_header("Content-Type", "application/octet-stream")
        req.send_header("Content-Length", str(len(data)))
        req.end_headers()
        if body:
            req.wfile.write(data)
