"""schemathesis (pinned in requirements.txt) against the server's own OpenAPI document
(GET /openapi.json), on the running server: no 5xx, every status documented, every JSON answer
matching its schema. Bounded: a fixed seed and number of examples per operation (under ~3
minutes on 2 cores with the demo model; the server's --max-tokens keeps random requests short)."""

import os
import subprocess
import sys

import pytest

from conftest import ServeProcess

CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"


@pytest.fixture(scope="module")
def small_server(binary, model_dir, tmp_path_factory):
    # A server whose answers stay short whatever max_tokens a generated request asks for.
    with ServeProcess(binary, ["--model", model_dir, "--max-tokens", "8"]) as s:
        yield s
        assert s.alive(), s.log()


def test_the_server_matches_its_openapi_document(small_server, tmp_path):
    exe = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    cmd = [exe, "run", small_server.url + "/openapi.json",
           "--checks", CHECKS,
           "--max-examples", os.environ.get("FS_SCHEMATHESIS_EXAMPLES", "12"),
           "--seed", "20261205",
           "--workers", "1",
           "--request-timeout", "60",
           "--generation-database", "none",
           "--no-color",
           "--report", "junit", "--report-dir", str(tmp_path)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    print(r.stdout[-20000:])
    print(r.stderr[-5000:])
    assert r.returncode == 0, "schemathesis found failures (above)\n" + small_server.log()[-4000:]
    assert small_server.alive()
