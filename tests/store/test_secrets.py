"""Secrets in database URLs are hidden wherever a URL is shown."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from psirf_flow import StoreError, StoreUnavailable
from psirf_flow.store.sql import SqlStore, make_engine, upgrade
from psirf_flow.store.sql._errors import _detail, _is_secret, _shown, _translated


SECRET = "n0t-a-real-Secret"  # noqa: S105 - a marker to look for, not a credential
SERVER = "postgresql+psycopg://psirf@127.0.0.1:1/nowhere"


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("password", True),
        ("PASSWORD", True),
        ("sslpassword", True),
        ("passfile", True),
        ("application_password", True),
        ("passwd", True),
        ("client_secret", True),
        ("access_token", True),
        ("options", False),
        ("sslmode", False),
        ("application_name", False),
        ("connect_timeout", False),
    ],
)
def test_which_query_keys_are_secret(key: str, secret: bool) -> None:
    """Keys naming a password, pass file, secret or token are secret; the others are not."""
    assert _is_secret(key) is secret


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            f"postgresql+psycopg://psirf:{SECRET}@db/psirf",
            "postgresql+psycopg://psirf:***@db/psirf",
        ),
        (
            f"postgresql+psycopg://psirf@db/psirf?password={SECRET}",
            "postgresql+psycopg://psirf@db/psirf?password=***",
        ),
        (
            f"postgresql+psycopg://psirf@db/psirf?sslmode=require&sslpassword={SECRET}",
            "postgresql+psycopg://psirf@db/psirf?sslmode=require&sslpassword=***",
        ),
        (
            f"postgresql+psycopg://psirf@db/psirf?passfile=/home/{SECRET}/.pgpass",
            "postgresql+psycopg://psirf@db/psirf?passfile=***",
        ),
        (
            "postgresql+psycopg://psirf@db/psirf?options=-csearch_path%3Dpsirf",
            "postgresql+psycopg://psirf@db/psirf?options=-csearch_path%3Dpsirf",
        ),
    ],
    ids=["userinfo", "password", "sslpassword", "passfile", "nothing-secret"],
)
def test_shown_url_hides_every_secret(url: str, shown: str) -> None:
    """The one helper that turns a URL into text masks passwords and keeps the rest."""
    assert _shown(sa.make_url(url)) == shown


@pytest.mark.parametrize(
    "url",
    [
        f"{SERVER}?password={SECRET}",
        f"{SERVER}?sslpassword={SECRET}",
        f"postgresql+psycopg://psirf:{SECRET}@127.0.0.1:1/nowhere?password={SECRET}",
    ],
    ids=["password", "sslpassword", "both"],
)
def test_unreachable_database_error_hides_query_passwords(url: str) -> None:
    """StoreUnavailable's message and url field never carry a password from the query."""
    with pytest.raises(StoreUnavailable) as raised:
        SqlStore.open(url)
    with pytest.raises(StoreUnavailable) as migrating:
        upgrade(url)

    for error in (raised.value, migrating.value):
        assert SECRET not in str(error)
        assert SECRET not in error.url
        assert "127.0.0.1:1/nowhere" in str(error)


def test_store_and_engine_reprs_hide_query_passwords() -> None:
    """Neither the store nor the engine it made shows a password given in the query."""
    engine = make_engine(f"{SERVER}?password={SECRET}&sslpassword={SECRET}x")
    store = SqlStore(engine)
    try:
        shown = [repr(store), store.url, repr(engine), str(engine.url), repr(engine.url)]
    finally:
        engine.dispose()

    for text in shown:
        assert SECRET not in text, text
    assert repr(store) == "SqlStore(url='postgresql+psycopg://psirf:***@127.0.0.1:1/nowhere')"
    # The password still reaches the driver: it moved into the URL's userinfo part.
    assert engine.url.password == SECRET
    assert "sslpassword" not in engine.url.query


def test_engine_from_a_url_object_hides_its_query_password() -> None:
    """A ``sqlalchemy.URL`` given as is loses its query password to the userinfo part too."""
    engine = make_engine(sa.make_url(f"{SERVER}?password={SECRET}"))
    try:
        assert SECRET not in repr(engine)
        assert engine.url.password == SECRET
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "url",
    [
        f"nosuchdb://psirf@host/db?password={SECRET}",
        f"postgresql+psycopg://psirf:{SECRET}@host:notaport/db",
        f"not a url :// at all {SECRET}",
    ],
    ids=["unknown-driver", "bad-port", "unparsable"],
)
def test_unusable_urls_are_store_errors_without_the_secret(url: str) -> None:
    """A URL that cannot be used is a StoreError whose message hides its secrets."""
    with pytest.raises(StoreError) as raised:
        make_engine(url)

    assert SECRET not in str(raised.value)


def test_driver_messages_repeating_a_secret_are_masked() -> None:
    """A password that a driver repeats in its own message is masked too."""
    url = sa.make_url(f"{SERVER}?password={SECRET}&sslpassword=other-{SECRET}")
    failure = sa.exc.OperationalError(
        "SELECT 1", {}, Exception(f"auth failed for other-{SECRET} and {SECRET}")
    )

    with pytest.raises(StoreError) as raised, _translated(url):
        raise failure

    assert _detail(failure, url) == "auth failed for *** and ***"
    assert SECRET not in str(raised.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql+psycopg://app@127.0.0.1:5432/psirf",
            "postgresql+psycopg://app@127.0.0.1:5432/psirf",
        ),
        (
            "postgresql+psycopg://app@db-9434765919.internal:5432/psirf",
            "postgresql+psycopg://app@db-«redacted».internal:5432/psirf",
        ),
        (
            "postgresql+psycopg://app@10.20.30.40:6432/p?application_name=pt-9434765919",
            "postgresql+psycopg://app@10.20.30.40:6432/p?application_name=pt-«redacted»",
        ),
        ("sqlite:////srv/943-476-5919.sqlite3", "sqlite:////srv/«redacted».sqlite3"),
    ],
    ids=["address-and-port-kept", "host-name", "query-value", "file-name"],
)
def test_shown_url_redacts_each_part_on_its_own(url: str, shown: str) -> None:
    """Identifiers in a host, query value or file name go; an address and its port stay."""
    assert _shown(sa.make_url(url)) == shown
