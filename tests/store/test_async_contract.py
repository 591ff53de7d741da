"""The asyncio SQL store passes the same StoreContract as every other store."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from psirf_flow.ports import Store
from psirf_flow.testing import StoreContract
from psirf_flow.testing.aio import BlockingStore


class _Reopening:
    """Opens further asyncio stores over one URL and closes them all at teardown."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.opened: list[BlockingStore] = []

    def __call__(self) -> Store:
        store = BlockingStore.open(self.url)
        self.opened.append(store)
        return store

    def close(self) -> None:
        for store in self.opened:
            store.close()


class TestAiosqliteStore(StoreContract):
    """The asyncio store on a SQLite file (aiosqlite) passes the contract."""

    @pytest.fixture
    def store(self, migrated_sqlite_path: str) -> Iterator[Store]:
        """A freshly migrated SQLite file, through aiosqlite."""
        store = BlockingStore.open(migrated_sqlite_path, migrate=True)
        yield store
        store.close()

    @pytest.fixture
    def reopen(self, store: Store, migrated_sqlite_path: str) -> Iterator[Callable[[], Store]]:
        """Opens the same file again through a new asyncio engine."""
        reopening = _Reopening(migrated_sqlite_path)
        yield reopening
        reopening.close()


@pytest.mark.postgres
class TestAsyncPostgresStore(StoreContract):
    """The asyncio store on PostgreSQL (psycopg's asyncio connection) passes the contract."""

    @pytest.fixture
    def store(self, pg_migrated_url: str) -> Iterator[Store]:
        """A freshly migrated, isolated PostgreSQL schema, through psycopg's asyncio driver."""
        store = BlockingStore.open(pg_migrated_url, migrate=True)
        yield store
        store.close()

    @pytest.fixture
    def reopen(self, store: Store, pg_migrated_url: str) -> Iterator[Callable[[], Store]]:
        """Opens the same schema again through a new asyncio engine."""
        reopening = _Reopening(pg_migrated_url)
        yield reopening
        reopening.close()
