"""``ese-serve --no-triton``: the embedding API alone, as a real process, without PyTriton."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from ese.runtime import Embedder

READY_TIMEOUT_S = 120.0


def _ready_line(log: Path, proc: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        line = next((x for x in text.splitlines() if x.startswith("ese-serve: ready")), None)
        if line is not None:
            return line
        if proc.poll() is not None:
            pytest.fail(f"ese-serve exited with {proc.returncode}:\n{text}")
        time.sleep(0.2)
    pytest.fail(f"ese-serve not ready in {READY_TIMEOUT_S:.0f} s:\n{log.read_text()}")


def test_no_triton_serves_the_api_alone_and_stops_cleanly(tiny_export: Path, tmp_path: Path):
    log = tmp_path / "serve.log"
    # PyTriton made unimportable: the API alone must not need it
    code = (
        "import sys; sys.modules['pytriton'] = None; from ese.serving.serve_cli import main; "
        "sys.exit(main())"
    )
    command = [sys.executable, "-c", code, str(tiny_export), "--no-triton", "--api-port", "0"]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        line = _ready_line(log, proc)
        url = line.split(" on api ")[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        request = urllib.request.Request(
            f"{url}/embed",
            data=json.dumps({"inputs": ["a dog"], "dimensions": 4}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            vectors = json.loads(response.read())
        want = Embedder(tiny_export).encode(["a dog"], dims=4)
        np.testing.assert_allclose(vectors, want, atol=1e-6)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "ese-serve: stopped" in log.read_text()


def test_the_api_modules_import_without_pytriton():
    code = (
        "import sys; sys.modules['pytriton'] = None; sys.modules['tritonclient'] = None\n"
        "import ese.serving.api.http_server, ese.serving.serve_cli\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_api_port_may_not_be_one_of_tritons(tiny_export: Path):
    command = [sys.executable, "-m", "ese.serving.serve_cli", str(tiny_export)]
    command += ["--http-port", "9000", "--api-port", "9000"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "--api-port 9000 is one of Triton's ports" in done.stderr


def test_an_api_host_that_is_no_address_is_a_usage_error(tiny_export: Path):
    command = [sys.executable, "-m", "ese.serving.serve_cli", str(tiny_export), "--no-triton"]
    command += ["--api-host", "localhost:80"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "--api-host 'localhost:80' is not an IPv4 address" in done.stderr


@pytest.mark.parametrize("host", ["localhost", "::1", "127.0.0.1:80", ""])
def test_api_options_take_an_ipv4_address_only(host):
    from ese.format.errors import UserError
    from ese.serving.api.options import ApiOptions

    with pytest.raises(UserError, match="is not an IPv4 address"):
        ApiOptions(api_host=host)


def test_an_api_beyond_loopback_is_announced_as_unauthenticated(tiny_export: Path, tmp_path: Path):
    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "ese.serving.serve_cli", str(tiny_export), "--no-triton"]
    command += ["--api-host", "0.0.0.0", "--api-port", "0"]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        assert " on api http://0.0.0.0:" in _ready_line(log, proc)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "the API listens on 0.0.0.0, beyond this machine, and has no authentication" in (
        log.read_text()
    )


def test_a_pending_bound_below_the_items_per_request_is_refused():
    from ese.format.errors import UserError
    from ese.serving.api.options import ApiOptions

    with pytest.raises(UserError, match="--api-max-pending-texts 10 is below"):
        ApiOptions(api_max_items=20, api_max_pending_texts=10)
