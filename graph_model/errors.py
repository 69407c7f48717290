"""Errors the platform raises, each carrying the context a user needs to fix the problem."""

from __future__ import annotations


class MicropathError(Exception):
    """Base class: the message says what happened and what to do about it."""


class DatabaseBusyError(MicropathError):
    """Another process holds the database for writing (or a load is in progress)."""


class WriteRefusedError(MicropathError):
    """A read-only path was asked to run a statement that writes."""


class QueryError(MicropathError):
    """A query failed; the message names the query and the engine's reason."""

    def __init__(self, message: str, *, query_name: str | None = None, query: str | None = None):
        super().__init__(message)
        self.query_name = query_name
        self.query = query


class QueryTimeoutError(QueryError):
    """A query ran past its time limit."""


class BackendUnavailableError(MicropathError):
    """The database cannot be reached or opened."""
