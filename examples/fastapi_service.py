"""A small FastAPI service over the asyncio engine: open a case, take a step, read it back.

``create_app(database_url)`` returns the application. Its lifespan opens one
``AsyncSqlStore`` (a pool of connections) and one ``AsyncEngine`` for the whole process;
each request is one engine call, which is one database transaction.

Who is asking comes from three headers, read by one dependency (``current_actor``):
``X-Actor-Id``, ``X-Actor-Roles`` (comma-separated role names) and ``X-Organisation``. A
real service would take them from its identity provider's verified token instead; only
that dependency would change.

Every ``PsirfFlowError`` becomes an HTTP status and an RFC 9457 problem document
(``application/problem+json``) carrying the error's stable code and class name, never its
message: a message may repeat a value the caller sent, and the service echoes nothing.
Request bodies FastAPI cannot read are answered the same way, naming the fields only.

Run it with an ASGI server, for instance ``uvicorn``:

```bash
PSIRF_FLOW_DB=cases.sqlite3 uvicorn --factory fastapi_service:app_from_environment
```
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from psirf_flow import Actor, Role
from psirf_flow.aio import AsyncEngine, AsyncSqlStore
from psirf_flow.audit import AuditEntry
from psirf_flow.domain import Case
from psirf_flow.errors import (
    CaseAlreadyExists,
    CaseNotFound,
    CommandRejected,
    ConcurrencyConflict,
    IdempotencyKeyReused,
    InvalidInput,
    OrganisationMismatch,
    PsirfFlowError,
    ReservedIdentity,
    RoleNotPermitted,
    StoreBusy,
    StoreUnavailable,
)
from psirf_flow.ports import Clock


#: HTTP status per error class, most specific first (the first match wins).
STATUS: tuple[tuple[type[PsirfFlowError], int], ...] = (
    (CaseNotFound, 404),
    (CaseAlreadyExists, 409),
    (ConcurrencyConflict, 409),
    (IdempotencyKeyReused, 409),
    (RoleNotPermitted, 403),
    (OrganisationMismatch, 403),
    (ReservedIdentity, 403),
    (CommandRejected, 422),
    (InvalidInput, 400),
    (StoreBusy, 503),
    (StoreUnavailable, 503),
    (PsirfFlowError, 500),
)
PROBLEM = "application/problem+json"


class OpenRequest(BaseModel):
    """The body of ``POST /cases``."""

    workflow: str
    payload: dict[str, Any] = Field(default_factory=dict)
    case_id: str | None = None


class StepRequest(BaseModel):
    """The body of ``POST /cases/{case_id}/steps/{trigger}``."""

    payload: dict[str, Any] = Field(default_factory=dict)
    expected_version: int | None = None


def status_for(error: PsirfFlowError) -> int:
    """The HTTP status that answers ``error``."""
    return next(status for kind, status in STATUS if isinstance(error, kind))


def problem(status: int, code: str, title: str, **extra: object) -> JSONResponse:
    """An RFC 9457 problem document: a status, a stable code, a title and ``extra``."""
    body = {
        "type": f"urn:psirf-flow:error:{code}",
        "title": title,
        "status": status,
        "code": code,
        **extra,
    }
    headers = {"Retry-After": "1"} if status == 503 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def current_actor(
    x_actor_id: Annotated[str, Header()],
    x_actor_roles: Annotated[str, Header()],
    x_organisation: Annotated[str, Header()],
) -> Actor:
    """The person asking, from the request's headers (stand-ins for a verified token)."""
    try:
        roles = [Role(name.strip()) for name in x_actor_roles.split(",") if name.strip()]
        return Actor(x_actor_id, roles, x_organisation)
    except ValueError as refused:
        # The header's value is not repeated: it may hold anything a caller typed.
        raise InvalidInput("actor", "the actor headers do not name a known person") from refused


def engine_of(request: Request) -> AsyncEngine:
    """The process's engine, made by the lifespan."""
    engine: AsyncEngine = request.app.state.engine
    return engine


def case_view(case: Case) -> dict[str, object]:
    """What the service shows of a case: ids, codes and counts."""
    return {
        "id": case.id,
        "workflow": case.workflow,
        "workflow_version": case.workflow_version,
        "organisation": case.organisation,
        "state": case.state,
        "version": case.version,
    }


def entry_view(entry: AuditEntry) -> dict[str, object]:
    """What the service shows of an audit entry (its payload is left out)."""
    return {
        "sequence": entry.sequence,
        "trigger": entry.trigger,
        "from_state": entry.from_state,
        "to_state": entry.to_state,
        "actor_id": entry.actor_id,
        "recorded_at": entry.recorded_at.isoformat(),
        "hash": entry.hash,
    }


ActorDep = Annotated[Actor, Depends(current_actor)]
EngineDep = Annotated[AsyncEngine, Depends(engine_of)]


def create_app(database_url: str, *, clock: Clock | None = None, migrate: bool = False) -> FastAPI:
    """The service over the database at ``database_url`` (SQLite file or PostgreSQL URL).

    Args:
        database_url: Where the cases live.
        clock: The engine's clock (the wall clock by default; tests pass a manual one).
        migrate: Create or upgrade the schema when the service starts.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with await AsyncSqlStore.open(database_url, migrate=migrate) as store:
            if clock is None:
                from psirf_flow.clock import SystemClock  # noqa: PLC0415

                app.state.engine = AsyncEngine(store, clock=SystemClock())
            else:
                app.state.engine = AsyncEngine(store, clock=clock)
            yield

    app = FastAPI(title="psirf_flow example service", lifespan=lifespan)

    @app.exception_handler(PsirfFlowError)
    async def refused(_request: Request, error: PsirfFlowError) -> JSONResponse:
        return problem(status_for(error), error.code, type(error).__name__)

    @app.exception_handler(RequestValidationError)
    async def unreadable(_request: Request, error: RequestValidationError) -> JSONResponse:
        # The locations of the fields FastAPI could not read, never their values.
        fields = [".".join(str(part) for part in item["loc"]) for item in error.errors()]
        return problem(422, "request_invalid", "RequestInvalid", fields=fields)

    @app.post("/cases", status_code=201)
    async def open_case(
        body: OpenRequest,
        actor: ActorDep,
        engine: EngineDep,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> dict[str, object]:
        outcome = await engine.open(
            body.workflow,
            actor=actor,
            payload=body.payload,
            case_id=body.case_id,
            idempotency_key=idempotency_key,
        )
        return {"case": case_view(outcome.case), "replayed": outcome.replayed}

    @app.post("/cases/{case_id}/steps/{trigger}")
    async def take_step(
        case_id: str,
        trigger: str,
        body: StepRequest,
        *,
        actor: ActorDep,
        engine: EngineDep,
        idempotency_key: Annotated[str | None, Header()] = None,
    ) -> dict[str, object]:
        outcome = await engine.fire(
            case_id,
            trigger,
            actor=actor,
            payload=body.payload,
            idempotency_key=idempotency_key,
            expected_version=body.expected_version,
        )
        return {
            "case": case_view(outcome.case),
            "entry": entry_view(outcome.entry),
            "replayed": outcome.replayed,
        }

    @app.get("/cases/{case_id}")
    async def read_case(case_id: str, actor: ActorDep, engine: EngineDep) -> dict[str, object]:
        return case_view(await engine.get(case_id, reader=actor))

    @app.get("/cases/{case_id}/history")
    async def read_history(case_id: str, actor: ActorDep, engine: EngineDep) -> dict[str, object]:
        entries = await engine.history(case_id, reader=actor)
        verified = await engine.verify(case_id, reader=actor)
        return {"entries": [entry_view(e) for e in entries], "verified": verified.ok}

    return app


def app_from_environment() -> FastAPI:
    """The service over the database named by ``PSIRF_FLOW_DB`` (for ``uvicorn --factory``)."""
    return create_app(os.environ["PSIRF_FLOW_DB"], migrate=True)
