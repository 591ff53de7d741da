"""An incident's records and the referral guards read the same on every store.

``Engine.incident_records`` and the guards that read the incident's records (the intake's
closing, one referral per body) use the incident links each store keeps (migration 0005);
psirf-rules §9.4 and §3.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.core.test_incident_records import EXPECTED, ICB_ORG, ORG, OTHER_PSS, PSS, _records

from psirf_flow import Engine, GuardFailed, InMemoryStore
from psirf_flow.ports import Store
from psirf_flow.relay import OutboxRelay
from psirf_flow.store.sql import SqlStore
from psirf_flow.testing import ManualClock


@pytest.fixture(
    name="store", params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def _store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "memory":
        yield InMemoryStore()
        return
    url = request.getfixturevalue("sqlite_path" if request.param == "sqlite" else "pg_url")
    store = SqlStore.open(str(url), migrate=True)
    yield store
    store.dispose()


@pytest.fixture(name="engine")
def _engine(store: Store, clock: ManualClock) -> Engine:
    """An engine on the store under test."""
    return Engine(store, clock=clock, oversight={ICB_ORG: [ORG]})


def test_records_of_an_incident(engine: Engine) -> None:
    """Every record of the incident, with its state; another organisation sees none."""
    incident = _records(engine)

    assert engine.incident_records(incident, reader=PSS) == EXPECTED
    assert engine.incident_records(incident, reader=OTHER_PSS, organisation=ORG) == ()


def test_closing_reads_the_referral_records(engine: Engine) -> None:
    """The intake's closing sees the referral's state through the store's incident links."""
    _records(engine)

    with pytest.raises(GuardFailed) as error:
        engine.fire("INT-1", "close_referral", actor=PSS)
    engine.fire(
        "INT-1/ref4",
        "record_notification",
        actor=PSS,
        payload={"notification_ref": "CDOP-1", "notification_date": "2026-01-05"},
    )
    engine.fire(
        "INT-1/ref4", "complete", actor=PSS, payload={"referral_outcome": "body_review_complete"}
    )
    OutboxRelay(engine).run_until_idle()

    assert [r.reason_code for r in error.value.failures] == ["referral_not_notified"]
    assert engine.fire("INT-1", "close_referral", actor=PSS).case.state == "closed"
