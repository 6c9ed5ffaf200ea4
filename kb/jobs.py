"""Jobs: a bulk ingest too large to finish within an HTTP worker's timeout runs in a process of its
own, and its state lives on disk under ``<home>/jobs/`` so that any worker (or a ``kb`` command)
can answer a poll, and so that a worker being replaced does not take the job with it.

``start_bulk`` writes the body and a first state, then starts ``python -m kb.jobs HOME ID``, which
ingests through ``KnowledgeBase.ingest`` and rewrites the state after every commit: which lines
have landed, the last committed line, then ``done`` with the result of every line, or ``failed``
with the reason. A job whose process died without saying so is read as ``failed``."""
from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

from .ingest import IngestReport
from .models import now_iso
from .settings import Settings

JOB_ID = re.compile(r"[0-9a-f]{32}")
KEEP_SECONDS = 7 * 24 * 3600   # finished jobs are forgotten after a week
JOB_LOCK_TIMEOUT = 600.0       # seconds a job waits for another writer (it has no client waiting)


def jobs_dir(home: Path) -> Path:
    return Path(home) / "jobs"


def start_bulk(settings: Settings, data: bytes, tags: list[str]) -> dict:
    """Queue a JSON Lines ingest of ``data`` and start its process; the job's first state."""
    folder = jobs_dir(settings.home)
    folder.mkdir(parents=True, exist_ok=True)
    _forget_old(folder)
    job_id = secrets.token_hex(16)
    (folder / f"{job_id}.jsonl").write_bytes(data)
    (folder / f"{job_id}.settings.json").write_text(json.dumps({"settings": _settings_env(settings),
                                                                "tags": list(tags)}), encoding="utf-8")
    state = {"id": job_id, "kind": "bulk", "state": "queued", "created": now_iso(), "bytes": len(data),
             "documents": 0, "passages": 0, "landed": [], "last_committed_line": None}
    _write(folder, state)
    with open(folder / f"{job_id}.log", "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "kb.jobs", str(settings.home), job_id],
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True, close_fds=True)
    (folder / f"{job_id}.pid").write_text(str(process.pid), encoding="ascii")
    threading.Thread(target=process.wait, daemon=True).start()   # reaped when it ends, not left a zombie
    return state


def _settings_env(settings: Settings) -> dict[str, str]:
    """The server's settings as the variables that give them, minus its tokens (a job needs none)."""
    return {f.metadata["env"]: str(getattr(settings, f.name)) for f in dataclasses.fields(settings)
            if getattr(settings, f.name) is not None and f.name not in ("api_token", "read_token")}


def read(home: Path, job_id: str) -> dict | None:
    """A job's state as saved, or None when there is no such job; a job whose process is gone
    before it finished is ``failed``."""
    if not JOB_ID.fullmatch(job_id):
        return None
    try:
        state = json.loads((jobs_dir(home) / f"{job_id}.json").read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None
    if state["state"] in ("queued", "running") and not _alive(jobs_dir(home) / f"{job_id}.pid"):
        state = {**state, "state": "failed", "error": "the job's process stopped before it finished"}
    return state


def run(home: Path, job_id: str) -> None:
    """The job's process: ingest the saved body, saving the state after every commit."""
    from .core import KnowledgeBase  # here, not at import: the job process needs it, api does not
    from .readers import ReadError, read_bytes

    folder = jobs_dir(home)
    state = json.loads((folder / f"{job_id}.json").read_text(encoding="utf-8"))
    state.update(state="running", started=now_iso())
    _write(folder, state)
    saved = json.loads((folder / f"{job_id}.settings.json").read_text(encoding="utf-8"))
    settings = Settings.from_env(saved["settings"])
    settings = settings.replace(lock_timeout=max(settings.lock_timeout, JOB_LOCK_TIMEOUT))
    tags = saved["tags"]
    body = folder / f"{job_id}.jsonl"

    def progress(report: IngestReport) -> None:
        state.update(committed(report))
        _write(folder, state)

    try:
        kb = KnowledgeBase(settings)
        report = kb.ingest(read_bytes(body.read_bytes(), "bulk.jsonl"), tags, progress=progress)
    except ReadError as exc:
        state.update(state="failed", error=f"body: {exc}", finished=now_iso())
    except Exception as exc:   # noqa: BLE001 - the job's state must say why it stopped
        state.update(state="failed", error=f"{type(exc).__name__}: {exc}", finished=now_iso())
    else:
        state.update(committed(report), state="done", finished=now_iso(), refused=len(report.refused),
                     results=line_results(report))
    _write(folder, state)
    body.unlink(missing_ok=True)


def committed(report: IngestReport) -> dict:
    """What has landed so far: the lines of the first ``report.documents`` accepted items (batches
    commit in input order), and the last of them."""
    lines = [item["line"] for item in report.items if "error" not in item][:report.documents]
    return {"documents": report.documents, "passages": report.passages, "landed": lines,
            "last_committed_line": max(lines) if lines else None}


def line_results(report: IngestReport) -> list[dict]:
    """Line by line, as the bulk endpoint answers: 201 landed, 422 refused with the reason, 409
    refused because its id holds a document of another source."""
    return [{"line": item["line"], "status": 409 if item.get("taken") else 422, "error": item["error"]}
            if "error" in item else
            {"status": 201, **item} for item in report.items]


def _write(folder: Path, state: dict) -> None:
    path = folder / f"{state['id']}.json"
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state), encoding="utf-8")
    os.replace(tmp, path)


def _alive(pid_file: Path) -> bool:
    try:
        pid = int(pid_file.read_text(encoding="ascii"))
    except (OSError, ValueError):
        return True   # being started
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:   # a zombie (finished, not yet reaped by the worker that started it) is not running
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _forget_old(folder: Path) -> None:
    limit = time.time() - KEEP_SECONDS
    for path in folder.iterdir():
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            pass


if __name__ == "__main__":
    run(Path(sys.argv[1]), sys.argv[2])
