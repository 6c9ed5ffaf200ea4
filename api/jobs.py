"""Jobs: the state of a write that runs longer than a request may (a large bulk post answers
``202 Accepted`` with ``Location: /api/v1/jobs/<id>``). The state is on disk (kb.jobs), so every
worker answers the poll."""
from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from marshmallow import fields

from kb import jobs

from .document_schemas import BulkLineSchema
from .dumping import Schema
from .kbstore import get_kb
from .openapi import errors

blp = Blueprint("jobs", __name__, url_prefix="/api/v1", description="Jobs: long writes, polled until done")

EXAMPLE = {"id": "5f0c6a3b2d1e4f708192a3b4c5d6e7f8", "kind": "bulk", "state": "running",
           "created": "2026-12-02T21:00:00Z", "bytes": 5242880, "documents": 5000, "passages": 6120,
           "last_committed_line": 5002, "landed": [1, 2, 3],
           "url": "http://127.0.0.1:5000/api/v1/jobs/5f0c6a3b2d1e4f708192a3b4c5d6e7f8"}


class JobSchema(Schema):
    id = fields.String()
    kind = fields.String(metadata={"description": "bulk: a JSON Lines post to /api/v1/documents/bulk."})
    state = fields.String(metadata={"description": "queued, running, done or failed."})
    created = fields.String()
    started = fields.String()
    finished = fields.String()
    bytes = fields.Integer(metadata={"description": "Size of the body the job reads."})
    documents = fields.Integer(metadata={"description": "Documents committed so far."})
    passages = fields.Integer()
    landed = fields.List(fields.Integer(), metadata={"description": "Lines committed so far, in order."})
    last_committed_line = fields.Integer(allow_none=True, metadata={
        "description": "The last line committed: after a failure, the lines after it did not land."})
    refused = fields.Integer(metadata={"description": "Lines refused (once done)."})
    results = fields.List(fields.Nested(BulkLineSchema), metadata={
        "description": "Once done: one per non-blank line, as the bulk endpoint answers."})
    error = fields.String(metadata={"description": "Why a failed job stopped."})
    url = fields.String()


def job_url(job_id: str) -> str:
    return url_for("jobs.Job", job_id=job_id, _external=True)


@blp.route("/jobs/<job_id>")
class Job(MethodView):
    @blp.response(200, JobSchema, example=EXAMPLE)
    @errors(blp, 401, 404)
    @blp.doc(operationId="getJob")
    def get(self, job_id):
        """A job's state: queued, running (with the lines committed so far), done or failed"""
        state = jobs.read(get_kb().home, job_id)
        if state is None:
            abort(404, message=f"no job with id '{job_id[:80]}'")
        return {**state, "url": job_url(job_id)}
