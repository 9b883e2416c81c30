"""What the gateway makes of the exceptions the openml package and its transport raise, and where
its retry budget comes from (the settings, which read the environment).
"""

from __future__ import annotations

import pytest

from metabase.errors import NotFoundError, OpenMLError
from metabase.openml.gateway import _translate, retry_policy
from metabase.openml.http import RetryPolicy
from metabase.settings import Settings

SERVER = "http://127.0.0.1:9/api/v1/xml"


def _openml_errors():
    return pytest.importorskip("openml.exceptions")


def test_unknown_ids_and_empty_results_are_not_found():
    oe = _openml_errors()
    assert isinstance(_translate(oe.OpenMLServerNoResult("no results"), SERVER), NotFoundError)
    assert isinstance(
        _translate(oe.OpenMLServerException("Unknown task", code=151), SERVER), NotFoundError
    )
    assert isinstance(
        _translate(oe.OpenMLServerException("whatever", code=111), SERVER), NotFoundError
    )


def test_answers_that_are_errors_stay_openml_errors_not_unreachable():
    oe = _openml_errors()
    for exc in (
        oe.OpenMLServerException("database busy", code=512),
        oe.OpenMLNotAuthorizedError("no key"),
        oe.OpenMLHashException("bad md5"),
    ):
        translated = _translate(exc, SERVER)
        assert isinstance(translated, OpenMLError) and not isinstance(translated, NotFoundError)
        assert str(translated).startswith("OpenML error") and "cannot reach" not in str(translated)


def test_transport_failures_are_unreachable():
    oe = _openml_errors()
    import requests
    import urllib3

    for exc in (
        oe.OpenMLServerError("no answer"),
        ConnectionRefusedError(111, "refused"),
        requests.exceptions.ConnectionError("reset"),
        requests.exceptions.ReadTimeout("slow"),
        urllib3.exceptions.MaxRetryError(None, "/x", "too many"),
    ):
        translated = _translate(exc, SERVER)
        assert isinstance(translated, OpenMLError) and "cannot reach OpenML" in str(translated), (
            exc
        )


def test_other_exceptions_pass_through_unchanged():
    _openml_errors()
    exc = ValueError("a bug, not OpenML")
    assert _translate(exc, SERVER) is exc
    error = NotFoundError("already ours")
    assert _translate(error, SERVER) is error


def test_the_retry_budget_comes_from_the_settings(monkeypatch):
    from metabase.errors import ConfigError

    monkeypatch.setenv("METABASE_OPENML_RETRIES", "3")
    monkeypatch.setenv("METABASE_OPENML_BACKOFF_S", "0.01")
    policy = retry_policy(Settings.resolve())
    assert (policy.attempts, policy.base_delay_s) == (3, 0.01)
    monkeypatch.delenv("METABASE_OPENML_RETRIES")
    monkeypatch.delenv("METABASE_OPENML_BACKOFF_S")
    default = retry_policy(Settings.resolve())
    assert (default.attempts, default.base_delay_s) == (
        RetryPolicy().attempts,
        RetryPolicy().base_delay_s,
    )
    monkeypatch.setenv("METABASE_OPENML_RETRIES", "many")
    with pytest.raises(ConfigError):
        Settings.resolve()
