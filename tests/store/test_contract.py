"""Every store adapter passes the public StoreContract."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from psirf_flow import InMemoryStore
from psirf_flow.ports import Store
from psirf_flow.store.sql import SqlStore
from psirf_flow.testing import StoreContract


class TestInMemoryStore(StoreContract):
    """The reference adapter passes the contract."""

    @pytest.fixture
    def store(self) -> Store:
        """A fresh in-memory store."""
        return InMemoryStore()


class _Reopening:
    """Opens further stores over one URL and disposes of them all at teardown."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.opened: list[SqlStore] = []

    def __call__(self) -> Store:
        store = SqlStore.open(self.url)
        self.opened.append(store)
        return store

    def close(self) -> None:
        for store in self.opened:
            store.dispose()


class TestSqliteStore(StoreContract):
    """The SQL store on a SQLite file passes the contract."""

    @pytest.fixture
    def store(self, migrated_sqlite_path: str) -> Iterator[Store]:
        """A freshly migrated SQLite file."""
        store = SqlStore.open(migrated_sqlite_path, migrate=True)
        yield store
        store.dispose()

    @pytest.fixture
    def reopen(self, store: Store, migrated_sqlite_path: str) -> Iterator[Callable[[], Store]]:
        """Opens the same file again, as another process would."""
        reopening = _Reopening(migrated_sqlite_path)
        yield reopening
        reopening.close()


class TestBoundSqliteStore(StoreContract):
    """The SQL store bound to a host's open SQLite transaction passes the contract."""

    @pytest.fixture
    def store(self, migrated_sqlite_path: str) -> Iterator[Store]:
        """A store inside one long host transaction, rolled back at the end."""
        owner = SqlStore.open(migrated_sqlite_path, migrate=True)
        with owner.engine.connect() as connection, connection.begin() as transaction:
            yield SqlStore.bind(connection)
            transaction.rollback()
        owner.dispose()


@pytest.mark.postgres
class TestPostgresStore(StoreContract):
    """The SQL store on PostgreSQL passes the contract."""

    @pytest.fixture
    def store(self, pg_migrated_url: str) -> Iterator[Store]:
        """A freshly migrated, isolated PostgreSQL schema."""
        store = SqlStore.open(pg_migrated_url, migrate=True)
        yield store
        store.dispose()

    @pytest.fixture
    def reopen(self, store: Store, pg_migrated_url: str) -> Iterator[Callable[[], Store]]:
        """Opens the same schema again through a new engine."""
        reopening = _Reopening(pg_migrated_url)
        yield reopening
        reopening.close()
