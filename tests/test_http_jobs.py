"""Bulk posts over KB_BULK_JOB_SIZE run as jobs, against a real `kb serve` with two workers: 202 and a
Location polled (each poll on a new connection, so any worker answers) until done, with the lines
that landed; a job whose process is killed part-way reads as failed and says which lines landed,
and exactly those documents are there."""
from __future__ import annotations

import json
import os
import shutil
import signal
import time

import pytest
import requests

from helpers.servers import LiveServer

PATIENCE = 300   # seconds a job may take on a loaded machine


@pytest.fixture(scope="module")
def server(sample_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("jobs") / "kb"
    shutil.copytree(sample_home, home)
    live = LiveServer(home, env={"KB_BULK_JOB_SIZE": "16KB", "KB_BATCH_DOCUMENTS": "25", "KB_SEMANTIC": "0"},
                      workers=2)
    yield live
    live.stop()


def bulk(prefix: str, count: int, bad_lines: tuple[int, ...] = ()) -> bytes:
    lines = []
    for n in range(1, count + 1):
        if n in bad_lines:
            lines.append(json.dumps(["not", "a", "document"]))
        else:
            lines.append(json.dumps({"id": f"{prefix}-{n}", "title": f"Field report {n}",
                                     "text": f"Field report {n} on ocean data shared by the research councils "
                                             f"of two countries, with a note on vaccine trials."}))
    return ("\n".join(lines) + "\n").encode()


def poll(server, url: str, until) -> dict:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        state = requests.get(url, timeout=30, headers={"Connection": "close"}).json()
        if until(state):
            return state
        time.sleep(0.2)
    raise AssertionError(f"job never reached the state wanted: {state}")


def test_a_large_bulk_post_is_a_job_polled_to_done_with_its_lines(server):
    body = bulk("job", 200, bad_lines=(7, 150))
    assert len(body) > 16 * 1024
    answer = server.request("POST", "/api/v1/documents/bulk", data=body,
                            headers={"Content-Type": "application/x-ndjson"})
    assert answer.status_code == 202, answer.text
    location = answer.headers["Location"]
    assert location.startswith(server.url + "/api/v1/jobs/") and answer.json()["url"] == location
    assert answer.json()["state"] in ("queued", "running")
    state = poll(server, location, lambda s: s["state"] in ("done", "failed"))
    assert state["state"] == "done", state
    good = [n for n in range(1, 201) if n not in (7, 150)]
    assert state["documents"] == 198 and state["refused"] == 2
    assert state["landed"] == good and state["last_committed_line"] == 200
    refused = [r for r in state["results"] if r["status"] == 422]
    assert [r["line"] for r in refused] == [7, 150] and all("JSON object" in r["error"] for r in refused)
    assert server.get("/api/v1/documents/job-200").json()["title"] == "Field report 200"
    assert server.get("/api/v1/documents/job-7").status_code == 404
    for _ in range(4):   # the same state from whichever worker answers
        assert requests.get(location, timeout=30, headers={"Connection": "close"}).json()["state"] == "done"


def test_a_small_bulk_post_is_answered_in_the_request(server):
    answer = server.request("POST", "/api/v1/documents/bulk", data=bulk("small", 3),
                            headers={"Content-Type": "application/x-ndjson"})
    assert answer.status_code == 200 and answer.json()["documents"] == 3


def test_a_job_killed_part_way_says_which_lines_landed(server):
    answer = server.request("POST", "/api/v1/documents/bulk", data=bulk("killed", 3000),
                            headers={"Content-Type": "application/x-ndjson"})
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["id"]
    poll(server, answer.headers["Location"], lambda s: s["documents"] > 0)
    pid = int((server.home / "jobs" / f"{job_id}.pid").read_text())
    os.killpg(pid, signal.SIGKILL)   # the job's process and the preparers it forked
    state = poll(server, answer.headers["Location"], lambda s: s["state"] != "running")
    assert state["state"] == "failed" and "stopped" in state["error"]
    last = state["last_committed_line"]
    assert 0 < last < 3000 and state["landed"] == list(range(1, last + 1))
    assert server.get(f"/api/v1/documents/killed-{last}").status_code == 200
    assert server.get(f"/api/v1/documents/killed-{last + 1}").status_code == 404


def test_unknown_jobs_are_404s_in_kb_shape(server):
    for job_id in ("0" * 32, "not-a-job", "..%2F..%2Fsettings"):
        answer = server.get(f"/api/v1/jobs/{job_id}")
        assert answer.status_code == 404 and answer.json()["code"] == 404
        if "%" not in job_id:   # a path of several segments is no route at all
            assert "no job" in answer.json()["message"]
