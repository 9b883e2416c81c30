"""Test support that ships with the package: the OpenML replay server, pytest fixtures and the
contract every recommendation strategy passes (:mod:`metabase.testing.strategy_contract`).
"""
