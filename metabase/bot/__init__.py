"""The never-ending AutoML bot: choose what to learn next, run it, store it, publish it, retrain.

- :mod:`metabase.bot.policy`: the policies that choose the next runs (pure: they see a
  :class:`~metabase.bot.policy.Knowledge` and return :class:`~metabase.bot.policy.Choice` s):
  ``active`` (:mod:`~metabase.bot.active`), ``tune`` (:mod:`~metabase.bot.tune`) and ``random``.
- :mod:`metabase.bot.simulate`: proves a policy on a meta-dataset taken as the world.
- :mod:`metabase.bot.halving` (successive halving over fidelities, with a hurdle) and
  :mod:`metabase.bot.evolution` (aging evolution of the torch architectures): pure helpers for
  what to run next within one task.

The loop (:class:`metabase.bot.loop.Bot`, with its parts :mod:`~metabase.bot.filling`,
:mod:`~metabase.bot.publishing`, :mod:`~metabase.bot.retraining` and
:mod:`~metabase.bot.stopping`) calls only the Workspace facade; its state (jobs, leases,
heartbeat) lives in the store.
"""
