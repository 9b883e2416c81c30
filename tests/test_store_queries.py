"""The store's named queries and the two concepts migration 005 defines once: a run's pipeline key
and a measure's direction. Expected values come from the rules as documented (README, store).
"""

from __future__ import annotations

import pandas as pd
import pytest

from metabase.errors import StoreError
from metabase.store import catalog, open_reader, open_writer, run_queries, sync_queries
from metabase.store.keys import flow_key, is_flow_key
from metabase.store.measures import higher_is_better


@pytest.fixture
def store(store_path):
    """Runs of a catalogue pipeline, of a mapped flow, of an unmapped flow and of no flow."""
    with open_writer(store_path) as w:
        w.upsert(
            "flows",
            pd.DataFrame(
                {
                    "flow_id": [7, 8],
                    "name": ["mapped", "raw"],
                    "pipeline": ["sklearn.rf", None],
                    "source": "t",
                }
            ),
        )
        w.upsert(
            "evaluation_measures",
            pd.DataFrame(
                {"measure": ["kappa_error_like"], "higher_is_better": [True], "source": "t"}
            ),
        )
        w.upsert(
            "runs",
            pd.DataFrame(
                {
                    "run_key": ["own", "viaflow", "raw", "noflow", "crashed"],
                    "task_id": [1, 1, 2, 2, 2],
                    "flow_id": [7, 7, 8, None, 8],
                    "pipeline": ["sklearn.svc", None, None, None, None],
                    "config": ['{"c":1}', '{"n":2}', '{"p":3}', None, '{"p":4}'],
                    "source": "t",
                    "status": ["ok", None, "ok", "ok", "crashed"],
                }
            ),
        )
        w.append(
            "evaluations",
            pd.DataFrame(
                {
                    "run_key": ["own", "viaflow", "raw", "noflow", "crashed"],
                    "measure": [
                        "predictive_accuracy",
                        "mean_absolute_error",
                        "kappa_error_like",
                        "root_mean_squared_error",
                        "predictive_accuracy",
                    ],
                    "value": [0.75, 0.5, 0.25, 2.0, 0.1],
                    "source": "t",
                }
            ),
        )
        w.refresh_views()
    return store_path


def test_the_pipeline_key_is_the_runs_then_the_flows_then_flow_id_then_unknown(store):
    with open_reader(store) as con:
        keys = dict(con.execute("SELECT run_key, pipeline_key FROM run_configs").fetchall())
    assert keys == {
        "own": "sklearn.svc",
        "viaflow": "sklearn.rf",
        "raw": flow_key(8),
        "noflow": "unknown",
        "crashed": flow_key(8),
    }
    assert flow_key(8) == "flow-8" and is_flow_key("flow-8") and not is_flow_key("sklearn.rf")


def test_signed_scores_negate_lower_is_better_measures_unless_the_store_says_otherwise(store):
    with open_reader(store) as con:
        rows = {
            k: (hib, signed)
            for k, hib, signed in con.execute(
                "SELECT run_key, higher_is_better, signed_score FROM run_configs"
            ).fetchall()
        }
        assert higher_is_better(con, "predictive_accuracy") and not higher_is_better(
            con, "usercpu_time_millis"
        )
        assert higher_is_better(con, "kappa_error_like")  # evaluation_measures overrides the name
    assert rows["own"] == (True, 0.75)
    assert rows["viaflow"] == (False, -0.5)
    assert rows["raw"] == (True, 0.25)
    assert rows["noflow"] == (False, -2.0)


def test_recommend_and_export_see_the_same_pipelines(store):
    with open_reader(store) as con:
        sampled = run_queries.sampled_runs(con, None, cap=10, best=1)
        exported = {
            m: run_queries.export_runs(con, None, None, m)
            for m in (
                "predictive_accuracy",
                "mean_absolute_error",
                "kappa_error_like",
                "root_mean_squared_error",
            )
        }
        filtered = run_queries.sampled_runs(con, [flow_key(8)], cap=10, best=1)
        score_range = run_queries.task_score_range(con, 2, None)
    exported_keys = {p for frame in exported.values() for p in frame["pipeline"]}
    assert (
        set(sampled["pipeline"])
        == exported_keys
        == {"sklearn.svc", "sklearn.rf", "flow-8", "unknown"}
    )
    assert "crashed" not in set(sampled["run_key"])  # a crashed run teaches nothing
    assert list(filtered["run_key"]) == ["raw"]
    assert score_range == (-2.0, 0.25)


def test_the_catalog_counts_and_finds_relations(store):
    with open_reader(store) as con:
        counts = dict(catalog.table_counts(con))
        assert catalog.has_relation(con, "run_configs") and catalog.has_relation(con, "runs")
        assert not catalog.has_relation(con, "no_such_view")
        assert sync_queries.flows_lacking(con) == []
        assert [v for v, _ in catalog.migrations(con)] == sorted(
            v for v, _ in catalog.migrations(con)
        )
    assert counts["runs"] == 5 and counts["evaluations"] == 5 and counts["flows"] == 2


def test_a_store_from_before_the_macros_says_how_to_upgrade(store):
    with open_writer(store) as w:
        w.execute("DELETE FROM schema_migrations WHERE version >= 5")
    with open_reader(store) as con, pytest.raises(StoreError, match="any write upgrades it"):
        run_queries.sampled_runs(con, None, cap=10, best=1)
