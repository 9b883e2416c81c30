"""Which evaluation measures are higher-is-better.

The rule is defined once, in the store's ``measure_higher_is_better`` macro (migration 005): what
``evaluation_measures`` says about the measure, else its name (errors, losses, times, memory and
costs are lower-is-better). The ``run_configs`` view uses it for ``signed_score``; Python asks the
store through :func:`higher_is_better`.
"""

from __future__ import annotations


def higher_is_better(con, measure: str) -> bool:
    """Whether a higher value of ``measure`` is better, by the store's rule."""
    return bool(con.scalar("SELECT measure_higher_is_better(?)", [measure]))
