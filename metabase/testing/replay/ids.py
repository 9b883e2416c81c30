"""Deterministic ids the replay server gives to records whose export carries none.

* openml-pimp run in row ``i`` (0-based, file order) of ``random_forest.arff``:
  run id ``50_000_001 + i``, setup id ``50_000_001 + i`` (every random configuration is its own
  setup), upload time 2017-11-01 00:00:00 UTC + ``i`` minutes, uploader 1.
* study-export runs: the distinct (task id, flow id, repetition) keys over all
  ``study_*_run_evaluations_*.arff`` files, sorted, key ``j`` -> run id ``60_000_001 + j``; the
  evaluations of the same key in several files (study 34's accuracy and AUC) belong to one run.
  Their setup is the flow's default setup, id ``60_000_000 + flow id`` (no parameter values:
  the exports have none). Upload time 2016-01-01 + ``j`` minutes.
* uploads (POST flow / POST run) get ids from ``70_000_001`` on, in order of arrival.
* file ids: a dataset's file id is its dataset id (recorded datasets keep theirs); a run's
  description file has the run id as file id, its predictions file ``1_000_000_000 + run id``
  (the exports hold no predictions: that download answers 404).
* scale mode: synthetic run ``k`` (0-based) has run id ``100_000_001 + k``; see ``scale.py``.
"""

PIMP_RUN = 50_000_001
PIMP_SETUP = 50_000_001
STUDY_RUN = 60_000_001
STUDY_SETUP = 60_000_000
UPLOAD = 70_000_001
SCALE_RUN = 100_000_001
PIMP_TIME = 1_509_494_400  # 2017-11-01 00:00:00 UTC
STUDY_TIME = 1_451_606_400  # 2016-01-01 00:00:00 UTC
PREDICTIONS_FILE = 1_000_000_000
