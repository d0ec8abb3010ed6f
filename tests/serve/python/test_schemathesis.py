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
    # Requests without max_tokens get 8; those with a generated max_tokens are bounded by the demo
    # model's context (2048 tokens, well under a second on the CPU engine).
    with ServeProcess(binary, ["--model", model_dir, "--max-tokens", "8"]) as s:
        yield s
        assert s.alive(), s.log()


# The coverage phase (boundary values, every method on every path) and the property-based phases
# run as two invocations: each on fresh connections (see the report of h-ollama: a request with
# an unknown method and a body can leave a keep-alive connection out of step in cpp-httplib).
@pytest.mark.parametrize("phases,examples", [("coverage", 12), ("examples,fuzzing,stateful", 40)])
def test_the_server_matches_its_openapi_document(small_server, tmp_path, phases, examples):
    exe = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    cmd = [exe, "run", small_server.url + "/openapi.json",
           "--checks", CHECKS,
           "--phases", phases,
           "--max-examples", os.environ.get("FS_SCHEMATHESIS_EXAMPLES", str(examples)),
           "--seed", "20261205",
           "--workers", "1",
           "--request-timeout", "60",
           "--generation-database", "none",
           "--no-color",
           "--report", "junit", "--report-dir", str(tmp_path)]
    # In a scratch folder: schemathesis keeps a cache of past failures in its working directory
    # and replays them first; each run here starts from nothing, so runs are repeatable.
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    print(r.stdout[-20000:])
    print(r.stderr[-5000:])
    assert r.returncode == 0, "schemathesis found failures (above)\n" + small_server.log()[-4000:]
    assert "generated" in r.stdout and " passed" in r.stdout
    assert small_server.alive()
