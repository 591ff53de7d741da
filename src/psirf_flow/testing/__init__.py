"""The test kit: a manual clock, hypothesis strategies, a state machine and the store contract.

Import it only from tests. The strategies need ``hypothesis`` and the contract needs
``pytest`` (install the ``testing`` extra).
"""

from typing import TYPE_CHECKING, Any

from psirf_flow.testing.clock import ManualClock


if TYPE_CHECKING:
    from psirf_flow.testing.model import ModelCase, Prediction, ReferenceEngine, ReferenceModel
    from psirf_flow.testing.stateful import (
        ClockedEngineStateMachine,
        EngineStateMachine,
        engine_state_machine,
    )
    from psirf_flow.testing.store_contract import StoreContract


__all__ = [
    "ClockedEngineStateMachine",
    "EngineStateMachine",
    "ManualClock",
    "ModelCase",
    "Prediction",
    "ReferenceEngine",
    "ReferenceModel",
    "StoreContract",
    "engine_state_machine",
]

# The property-test kit, imported lazily too (it needs hypothesis): name -> module.
_KIT = {
    "ClockedEngineStateMachine": "psirf_flow.testing.stateful",
    "EngineStateMachine": "psirf_flow.testing.stateful",
    "engine_state_machine": "psirf_flow.testing.stateful",
    "ModelCase": "psirf_flow.testing.model",
    "Prediction": "psirf_flow.testing.model",
    "ReferenceEngine": "psirf_flow.testing.model",
    "ReferenceModel": "psirf_flow.testing.model",
}


def __getattr__(name: str) -> Any:
    # Imported lazily: the contract needs pytest and hypothesis, the clock does not.
    if name == "StoreContract":
        from psirf_flow.testing.store_contract import StoreContract  # noqa: PLC0415

        return StoreContract
    if name in _KIT:
        import importlib  # noqa: PLC0415

        return getattr(importlib.import_module(_KIT[name]), name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
