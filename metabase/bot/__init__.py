"""The never-ending AutoML bot: choose what to learn next, run it, store it, publish it, retrain.

- :mod:`metabase.bot.policy`: the policies that choose the next runs (pure: they see a
  :class:`~metabase.bot.policy.Knowledge` and return :class:`~metabase.bot.policy.Choice` s).

The loop itself calls only the Workspace facade; its state (jobs, leases, heartbeat) lives in
the store.
"""
