"""Leave-one-task-out backtesting of recommendation strategies (pure: meta-datasets in, numbers
out).

The names are loaded on first use: ``recommend`` reads :mod:`metabase.evaluate.regret` on its warm
path, which must not import the backtest (and pandas with it).
"""

from __future__ import annotations

import importlib

_NAMES = {
    "BacktestResult": "metabase.evaluate.backtest",
    "backtest": "metabase.evaluate.backtest",
    "expected_random_regret": "metabase.evaluate.regret",
    "regret_curve": "metabase.evaluate.regret",
}

__all__ = ["BacktestResult", "backtest", "expected_random_regret", "regret_curve"]


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(importlib.import_module(_NAMES[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
