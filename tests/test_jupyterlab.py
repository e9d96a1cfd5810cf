"""JupyterLab as a way into the book: its server starts headless, executes a chapter cell by
cell through the project's kernel (as a reader's browser would, over the kernel's
websocket), and shuts down when asked."""
from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from nar_utils.reproduce import records, runner

pytestmark = pytest.mark.notebooks

CHAPTER = "01_data"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, port: int, token: str):
        self.base, self.token = f"http://127.0.0.1:{port}", token

    def request(self, method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Authorization": f"token {self.token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as response:
            text = response.read().decode()
            return response.status, (json.loads(text) if text.startswith(("{", "[")) else text)


def _wait_until_up(server: Server, proc: subprocess.Popen, log: Path, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"JupyterLab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            return server.request("GET", "/api/status")
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer within {timeout} s:\n{log.read_text()[-3000:]}")


def _execute(ws, session: str, code: str, timeout: float = 300) -> list[dict]:
    """Run ``code`` in the kernel behind the websocket ``ws``; returns its iopub messages."""
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "session": session, "username": "test",
                   "msg_type": "execute_request", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": True,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
    messages, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = json.loads(ws.recv())
        if msg.get("parent_header", {}).get("msg_id") != msg_id or msg["channel"] != "iopub":
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return messages
        messages.append(msg)
    pytest.fail(f"no reply within {timeout} s to:\n{code[:200]}")


def test_jupyterlab_runs_a_chapter_through_the_project_kernel(tmp_path):
    import websocket

    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "NAR_RUN_DIR": str(tmp_path / "runs"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    log = tmp_path / "jupyterlab.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}",
             "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={runner.ROOT}", "--ServerApp.port_retries=0",
             *(["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else [])],
            stdout=out, stderr=subprocess.STDOUT, env=env)
    server = Server(port, token)
    try:
        _wait_until_up(server, proc, log)
        status, page = server.request("GET", "/lab")
        assert status == 200 and "JupyterLab" in page  # the Lab front end, not a bare server
        _, specs = server.request("GET", "/api/kernelspecs")
        notebook_kernel = json.loads(
            runner.resolve_notebook(CHAPTER).read_text())["metadata"]["kernelspec"]["name"]
        assert notebook_kernel in specs["kernelspecs"]

        _, session = server.request("POST", "/api/sessions", {
            "path": f"notebooks/{CHAPTER}.ipynb", "type": "notebook", "name": CHAPTER,
            "kernel": {"name": notebook_kernel}})
        kernel_id = session["kernel"]["id"]
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{port}/api/kernels/{kernel_id}/channels?token={token}",
            timeout=300)
        try:
            client = uuid.uuid4().hex
            where = _execute(ws, client, "import nar_utils, os; print(nar_utils.__file__); "
                                         "print(os.getcwd())")
            printed = "".join(m["content"].get("text", "") for m in where).split("\n")
            assert Path(printed[0]).resolve().is_relative_to(runner.ROOT)  # this checkout
            assert Path(printed[1]).resolve() == runner.NOTEBOOK_DIR  # the chapter's folder
            nb = json.loads(runner.resolve_notebook(CHAPTER).read_text())
            shown = []
            for k, cell in enumerate(c for c in nb["cells"] if c["cell_type"] == "code"):
                messages = _execute(ws, client, "".join(cell["source"]))
                errors = [m["content"] for m in messages if m["msg_type"] == "error"]
                assert not errors, f"code cell {k}: {errors[0]['ename']}: " \
                    f"{errors[0]['evalue']}"
                shown += [m for m in messages if m["msg_type"] in ("display_data", "stream")]
        finally:
            ws.close()
        assert any("image/png" in m["content"].get("data", {}) for m in shown)
        (record,) = records.read_records(tmp_path / "runs")
        assert record["notebook"] == f"{CHAPTER}.ipynb"
        assert record["metrics"]["counts"]["cells"] == 15_625
        status, _ = server.request("DELETE", f"/api/sessions/{session['id']}")
        assert status == 204
    finally:
        try:
            server.request("POST", "/api/shutdown")
            proc.wait(timeout=30)
        except Exception:  # a server that will not stop is killed, then reported below
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, log.read_text()[-3000:]
