"""Store adapters: `InMemoryStore` (the reference) and ``psirf_flow.store.sql``."""

from psirf_flow.store.memory import InMemoryStore


__all__ = ["InMemoryStore"]
