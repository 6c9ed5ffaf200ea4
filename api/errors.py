"""Every error, on every path, as JSON of one shape: ``{"code", "status", "message", "errors"?}``."""
from __future__ import annotations

import logging

from flask_smorest import Api
from flask_smorest import abort as smorest_abort
from werkzeug.exceptions import HTTPException, InternalServerError

from index import BackendUnavailable, Conflict, IndexBusy, QueryError, QueryTimeout, Unsupported
from kb.core import IdTaken, InvalidDocument
from kb.embedding import ModelLoading, SemanticUnavailable
from kb.limits import OverLimit
from kb.tagging.stored import TaxonomyMismatch

log = logging.getLogger("kb.api")

RETRY_AFTER_SECONDS = 2


class KbApi(Api):
    """flask-smorest's Api with a message in every error body and kb's errors mapped to HTTP."""

    def _register_error_handlers(self):
        super()._register_error_handlers()
        app = self._app
        app.register_error_handler(QueryError, lambda e: self._error(400, str(e)))
        app.register_error_handler(SemanticUnavailable, lambda e: self._error(400, str(e)))
        app.register_error_handler(InvalidDocument, lambda e: self._invalid(e))
        app.register_error_handler(OverLimit, lambda e: self._over_limit(e))
        app.register_error_handler(
            IndexBusy, lambda e: self._error(503, str(e), {"Retry-After": str(RETRY_AFTER_SECONDS)}))
        app.register_error_handler(
            ModelLoading, lambda e: self._error(503, str(e), {"Retry-After": str(RETRY_AFTER_SECONDS)}))
        app.register_error_handler(
            QueryTimeout, lambda e: self._error(503, str(e), {"Retry-After": str(RETRY_AFTER_SECONDS)}))
        app.register_error_handler(
            BackendUnavailable, lambda e: self._error(503, str(e), {"Retry-After": str(RETRY_AFTER_SECONDS)}))
        app.register_error_handler(Unsupported, lambda e: self._error(501, str(e)))
        app.register_error_handler(Conflict, lambda e: self._error(409, str(e)))
        app.register_error_handler(IdTaken, lambda e: self._error(409, str(e)))
        app.register_error_handler(TaxonomyMismatch, lambda e: self._error(409, str(e)))
        # json.loads of a body nested thousands deep raises RecursionError, not a decode error
        app.register_error_handler(
            RecursionError, lambda e: self._error(400, "the request is nested too deeply to process"))
        app.register_error_handler(Exception, self._unexpected)

    def handle_http_exception(self, error: HTTPException):
        payload, code, headers = super().handle_http_exception(error)
        payload.setdefault("message", _message(error))
        return payload, code, headers

    def _error(self, code: int, message: str, headers: dict | None = None):
        try:
            smorest_abort(code, message=message, headers=headers or {})
        except HTTPException as exc:
            return self.handle_http_exception(exc)

    def _invalid(self, exc: InvalidDocument):
        field, _, reason = str(exc).partition(": ")
        try:
            smorest_abort(422, message=str(exc), errors={"json": {field: [reason or str(exc)]}})
        except HTTPException as http_exc:
            return self.handle_http_exception(http_exc)

    def _over_limit(self, exc: OverLimit):
        try:
            smorest_abort(exc.status, message=str(exc), errors={"json": {exc.field: [exc.reason]}})
        except HTTPException as http_exc:
            return self.handle_http_exception(http_exc)

    def _unexpected(self, exc: Exception):
        if isinstance(exc, HTTPException):
            return self.handle_http_exception(exc)
        log.exception("unexpected error")   # the trace goes to the log, never to the client
        return self.handle_http_exception(InternalServerError())


def _message(error: HTTPException) -> str:
    description = error.description or error.name
    if error.code == 422:
        data = getattr(error, "data", None) or {}
        found = data.get("errors") or data.get("messages")   # ours, or webargs' (a schema's refusal)
        return "Invalid arguments: " + (_describe(found) if found else "see errors for each field.")
    return description


def _describe(errors: dict) -> str:
    """``{"json": {"text": ["Missing data for required field."]}}`` → ``text: Missing data for required field.``"""
    parts = []
    for location, found in errors.items():
        items = found.items() if isinstance(found, dict) else [(location, found)]
        for name, messages in items:
            parts.append(f"{'body' if name == '_schema' else name}: {_first(messages)}")
    return "; ".join(parts)


def _first(messages) -> str:
    while isinstance(messages, (list, tuple, dict)) and messages:
        messages = next(iter(messages.values())) if isinstance(messages, dict) else messages[0]
    return str(messages)
