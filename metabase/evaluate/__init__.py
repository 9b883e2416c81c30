"""Leave-one-task-out backtesting of recommendation strategies (pure: meta-datasets in, numbers
out).
"""

from metabase.evaluate.backtest import BacktestResult, backtest
from metabase.evaluate.regret import expected_random_regret, regret_curve

__all__ = ["BacktestResult", "backtest", "expected_random_regret", "regret_curve"]
