"""The test kit: a manual clock, hypothesis strategies and the store contract.

Import it only from tests. The strategies need ``hypothesis`` and the contract needs
``pytest`` (install the ``testing`` extra).
"""

from psirf_flow.testing.clock import ManualClock


__all__ = ["ManualClock"]
