"""Read access: whose cases a reader may see, as a pure rule.

Every read names its reader (psirf-rules §5, the separation of organisations; §9.4, ICB
oversight). The rule is a function of the reader, the case's organisation and the host's
oversight mapping, with no store, clock or logging:

* people see their own organisation's cases, whatever their role (patient safety partners
  sit on the trust's own committees);
* people holding [`ICB_OVERSIGHT`][psirf_flow.domain.Role] also see the cases of the
  organisations their organisation oversees;
* a [`SystemReader`][psirf_flow.domain.SystemReader] (a named batch job) sees every case.

The engine reports a case its reader may not see exactly like a missing one.
"""

from __future__ import annotations

from collections.abc import Mapping

from psirf_flow.domain import Reader, Role, SystemReader


__all__ = ["Oversight", "may_read", "visible_organisations"]

Oversight = Mapping[str, frozenset[str]]
"""Which organisations each overseeing organisation (an ICB) may read."""


def visible_organisations(reader: Reader, oversight: Oversight) -> frozenset[str] | None:
    """The organisations whose cases ``reader`` may see (``None``: every organisation).

    Args:
        reader: A person (an ``Actor``) or a ``SystemReader``.
        oversight: The organisations each overseeing organisation may read.
    """
    if isinstance(reader, SystemReader):
        return None
    own = frozenset({reader.organisation})
    if not reader.holds(Role.ICB_OVERSIGHT):
        return own
    return own | oversight.get(reader.organisation, frozenset())


def may_read(reader: Reader, organisation: str, oversight: Oversight) -> bool:
    """Tell whether ``reader`` may read the status and history of ``organisation``'s cases.

    Args:
        reader: A person (an ``Actor``) or a ``SystemReader``.
        organisation: The organisation that owns the case.
        oversight: The organisations each overseeing organisation may read.
    """
    visible = visible_organisations(reader, oversight)
    return visible is None or organisation in visible
