"""The FastAPI example service runs on SQLite and PostgreSQL and answers refusals as problems."""

from __future__ import annotations

import runpy
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from psirf_flow.testing import ManualClock


with warnings.catch_warnings():
    # Starlette's test client prefers the httpx2 package now; httpx (installed) still works.
    warnings.filterwarnings(
        "ignore", message="Using `httpx` with `starlette.testclient` is deprecated"
    )
    from fastapi.testclient import TestClient


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CREATE_APP: Callable[..., FastAPI] = runpy.run_path(str(EXAMPLES / "fastapi_service.py"))[
    "create_app"
]

SPECIALIST = {
    "X-Actor-Id": "pss-01",
    "X-Actor-Roles": "patient_safety_specialist",
    "X-Organisation": "RXY",
}
FACILITATOR = {"X-Actor-Id": "aar-11", "X-Actor-Roles": "facilitator", "X-Organisation": "RXY"}
OUTSIDER = {
    "X-Actor-Id": "pss-77",
    "X-Actor-Roles": "patient_safety_specialist",
    "X-Organisation": "RZZ",
}
#: An NHS-number-shaped value (valid check digit) a caller should never see echoed.
NHS_NUMBER = "9434765919"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    """The service over a fresh SQLite file, then over a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        url = str(tmp_path / "service.sqlite3")
    else:
        url = str(request.getfixturevalue("pg_url"))
    app = CREATE_APP(url, clock=ManualClock(), migrate=True)
    with TestClient(app) as running:
        yield running


def open_review(client: TestClient, case_id: str = "AAR-1") -> dict[str, Any]:
    """Open an after action review through the service; the response's JSON."""
    response = client.post(
        "/cases",
        json={
            "workflow": "after_action_review",
            "payload": {"incident_ids": ["INC-1"]},
            "case_id": case_id,
        },
        headers=SPECIALIST,
    )
    assert response.status_code == 201, response.text
    opened: dict[str, Any] = response.json()
    return opened


def step(
    client: TestClient,
    trigger: str,
    headers: dict[str, str],
    payload: dict[str, object] | None = None,
    **extra: object,
) -> Any:
    """Take ``trigger`` on AAR-1 through the service; the HTTP response."""
    body = {"payload": payload or {}, **extra}
    return client.post(f"/cases/AAR-1/steps/{trigger}", json=body, headers=headers)


def assert_problem(response: Any, status: int, code: str) -> None:
    """A problem document with ``status`` and ``code``, and no free-text detail."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:psirf-flow:error:{code}"
    assert "detail" not in body


def test_a_review_is_opened_stepped_and_read_with_its_verified_trail(client: TestClient) -> None:
    """Open, two steps, read: the case at version 3 and three entries that verify."""
    opened = open_review(client)
    assigned = step(client, "assign_facilitator", SPECIALIST, {"facilitator_id": "aar-11"})
    gathering = step(client, "begin_gathering", FACILITATOR)

    case = client.get("/cases/AAR-1", headers=FACILITATOR)
    history = client.get("/cases/AAR-1/history", headers=SPECIALIST)

    assert opened["case"]["state"] == "commissioned"
    assert assigned.status_code == 200
    assert gathering.json()["entry"]["sequence"] == 3
    assert case.json() == {
        **opened["case"],
        "state": gathering.json()["case"]["state"],
        "version": 3,
    }
    assert history.status_code == 200
    assert [e["trigger"] for e in history.json()["entries"]] == [
        "open",
        "assign_facilitator",
        "begin_gathering",
    ]
    assert history.json()["verified"] is True


def test_a_retry_with_the_same_idempotency_key_is_replayed(client: TestClient) -> None:
    """The same step sent twice with one Idempotency-Key writes one entry."""
    open_review(client)
    headers = {**SPECIALIST, "Idempotency-Key": "assign-1"}
    payload: dict[str, object] = {"facilitator_id": "aar-11"}

    first = step(client, "assign_facilitator", headers, payload)
    again = step(client, "assign_facilitator", headers, payload)

    assert first.json()["replayed"] is False
    assert again.json()["replayed"] is True
    assert again.json()["entry"] == first.json()["entry"]


@pytest.mark.parametrize(
    ("trigger", "headers", "payload", "extra", "status", "code"),
    [
        ("approve", FACILITATOR, {"report_ref": "R"}, {}, 422, "PSF202"),
        ("no_such_step", SPECIALIST, {}, {}, 422, "PSF201"),
        ("assign_facilitator", FACILITATOR, {"facilitator_id": "aar-11"}, {}, 403, "PSF203"),
        ("assign_facilitator", SPECIALIST, {"note": NHS_NUMBER}, {}, 422, "PSF205"),
        ("begin_gathering", OUTSIDER, {}, {}, 404, "PSF300"),
        (
            "assign_facilitator",
            SPECIALIST,
            {"facilitator_id": "aar-11"},
            {"expected_version": 7},
            409,
            "PSF302",
        ),
    ],
    ids=["wrong-state", "unknown-step", "wrong-role", "unknown-field", "other-trust", "stale"],
)
def test_refused_steps_are_problems_with_the_error_code(  # noqa: PLR0917 - the table's columns
    client: TestClient,
    trigger: str,
    headers: dict[str, str],
    payload: dict[str, object],
    extra: dict[str, object],
    status: int,
    code: str,
) -> None:
    """Each refusal has its HTTP status and PSF code, echoes nothing and writes nothing."""
    open_review(client)

    response = step(client, trigger, headers, payload, **extra)

    assert_problem(response, status, code)
    assert NHS_NUMBER not in response.text
    assert client.get("/cases/AAR-1", headers=SPECIALIST).json()["version"] == 1


def test_a_missing_case_and_a_taken_id_are_problems(client: TestClient) -> None:
    """Reading an unknown case is 404 PSF300; opening a taken case id is 409 PSF301."""
    open_review(client)

    assert_problem(client.get("/cases/AAR-404", headers=SPECIALIST), 404, "PSF300")
    assert_problem(client.get("/cases/AAR-1/history", headers=OUTSIDER), 404, "PSF300")
    taken = client.post(
        "/cases",
        json={
            "workflow": "after_action_review",
            "payload": {"incident_ids": ["INC-2"]},
            "case_id": "AAR-1",
        },
        headers=SPECIALIST,
    )
    assert_problem(taken, 409, "PSF301")


def test_unreadable_requests_name_the_fields_and_echo_no_value(client: TestClient) -> None:
    """Missing headers or a malformed body: 422 naming the fields, never their values."""
    no_headers = client.get("/cases/AAR-1")
    bad_body = client.post("/cases", json={"payload": NHS_NUMBER}, headers=SPECIALIST)

    assert_problem(no_headers, 422, "request_invalid")
    assert set(no_headers.json()["fields"]) == {
        "header.x-actor-id",
        "header.x-actor-roles",
        "header.x-organisation",
    }
    assert_problem(bad_body, 422, "request_invalid")
    assert set(bad_body.json()["fields"]) == {"body.workflow", "body.payload"}
    assert NHS_NUMBER not in bad_body.text


@pytest.mark.parametrize(
    "headers",
    [
        {**SPECIALIST, "X-Actor-Roles": "chief_wizard"},
        {**SPECIALIST, "X-Actor-Id": NHS_NUMBER},
        {**SPECIALIST, "X-Actor-Roles": "system"},
    ],
    ids=["unknown-role", "nhs-number-as-id", "reserved-role"],
)
def test_bad_actor_headers_are_refused_without_echo(
    client: TestClient, headers: dict[str, str]
) -> None:
    """An unknown role or an identifier shaped like an NHS number: 400 or 403, nothing echoed."""
    response = client.post(
        "/cases",
        json={"workflow": "after_action_review", "payload": {"incident_ids": ["INC-1"]}},
        headers=headers,
    )

    assert response.status_code in {400, 403}
    assert_problem(response, response.status_code, response.json()["code"])
    assert response.json()["code"] in {"PSF700", "PSF209"}
    assert NHS_NUMBER not in response.text
    assert "chief_wizard" not in response.text
