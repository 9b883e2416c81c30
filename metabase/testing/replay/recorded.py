"""The recorded REST responses in ``openml-python/``, indexed by the API call they answer.

openml-python's test cache is laid out by entity (``tasks/3/task.xml``,
``datasets/2/features.xml``, ``runs/1/description.xml``, ``api/v1/xml/setup/1/body.xml``) and its
older mock responses by name (``flows/flow_100.xml``, ``datasets/data_description_20.xml``). Newer
files win over ``_history``. Bodies are served as recorded except that ``oml:url``,
``oml:minio_url`` and ``oml:data_splits_url`` are rewritten to point at the replay server.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

CACHE = "openml-python/tests/files/org/openml/test"
HIST = "openml-python/_history/tests/files"
_URL_TAG = re.compile(r"(<oml:(?:url|minio_url|data_splits_url)>)\s*https?://[^/<\s]+")


def rewrite_urls(body: str, root: str) -> str:
    return _URL_TAG.sub(lambda m: m.group(1) + root, body)


class Recorded:
    def __init__(self, data_dir: Path):
        self.calls: dict[str, Path] = {}  # "task/3" -> file
        self.splits: dict[int, Path] = {}  # task id -> datasplits.arff
        self.files: dict[int, Path] = {}  # file id -> dataset file
        self.file_names: dict[int, str] = {}
        self.lists: dict[tuple, Path] = {}  # (entity, filters) -> recorded list answer
        d = Path(data_dir)
        self._cache_tree(d / CACHE)
        self._cache_tree(d / HIST / "org/openml/test")
        self._mock(d / HIST / "mock_responses")

    def _add(self, call: str, path: Path) -> None:
        if path.is_file():
            self.calls.setdefault(call, path)

    def _cache_tree(self, root: Path) -> None:
        if not root.is_dir():
            return
        for p in sorted(root.glob("tasks/*/task.xml")):
            self._add(f"task/{p.parent.name}", p)
            split = p.parent / "datasplits.arff"
            if split.is_file():
                self.splits.setdefault(int(p.parent.name), split)
        for p in sorted(root.glob("datasets/*")):
            if not p.name.lstrip("-").isdigit() or int(p.name) < 0:
                continue
            self._add(f"data/{p.name}", p / "description.xml")
            self._add(f"data/features/{p.name}", p / "features.xml")
            self._add(f"data/qualities/{p.name}", p / "qualities.xml")
            arff = p / "dataset.arff"
            descr = p / "description.xml"
            if arff.is_file() and descr.is_file():
                m = re.search(
                    r"<oml:file_id>(\d+)</oml:file_id>", descr.read_text(errors="replace")
                )
                if m:
                    self.files.setdefault(int(m.group(1)), arff)
        for p in sorted(root.glob("runs/*/description.xml")):
            self._add(f"run/{p.parent.name}", p)
        for p in sorted(root.glob("api/v1/xml/setup/*/body.xml")):
            self._add(f"setup/{p.parent.name}", p)
        for p in sorted(root.glob("setups/*/description.xml")):
            self._add(f"setup/{p.parent.name}", p)

    def _mock(self, root: Path) -> None:
        if not root.is_dir():
            return
        for p in sorted(root.glob("flows/flow_[0-9]*.xml")):
            self._add(f"flow/{p.stem.split('_')[1]}", p)
        for p in sorted(root.glob("datasets/data_description_*.xml")):
            self._add(f"data/{p.stem.rsplit('_', 1)[1]}", p)
        for p in sorted(root.glob("datasets/data_features_*.xml")):
            self._add(f"data/features/{p.stem.rsplit('_', 1)[1]}", p)
        for p in sorted(root.glob("datasets/[0-9]*/description.xml")):
            self._add(f"data/{p.parent.name}", p)
        self._add("task/801", root / "tasks/task_801.xml")
        self._add("task/119", root / "tasks/task_description_119.xml")
        self._add("estimationprocedure/list", root / "tasks/estimation_procedure_list.xml")
        study = root / "studies/publish_study"
        self._add("study/157", study / "get_study_157.xml")
        self._add("user/list/user_id/3229", study / "get_user_list_user_id_3229.xml")
        self._add("user/list/user_id/1", root / "evaluations/user_list_1.xml")
        # list answers, keyed by their filters without limit/offset (see ``get_list``)
        for entity, filters, path in (
            ("setup", {"flow": "5873"}, "setups/setup_list_flow5873.xml"),
            ("evaluation", {"run": "12"}, "evaluations/evaluation_list_run12.xml"),
            (
                "evaluation",
                {"run": "12", "function": "predictive_accuracy"},
                "evaluations/evaluation_list_run12.xml",
            ),
            ("task", {"type": "3"}, "tasks/task_list_type_learning_curve.xml"),
            ("task", {"type": "5"}, "tasks/task_list_clustering.xml"),
            (
                "evaluation",
                {"function": "predictive_accuracy", "study": "157"},
                "studies/publish_study/get_evaluation_list_function_predictive_accuracy_limit_10000_offset_0_study_157.xml",
            ),
            (
                "run",
                {"study": "157"},
                "studies/publish_study/get_run_list_limit_10000_offset_0_study_157.xml",
            ),
        ):
            if (root / path).is_file():
                self.lists.setdefault((entity, frozenset(filters.items())), root / path)

    def get_list(self, entity: str, segments: list[str]) -> tuple[Path, int] | None:
        """The recorded answer of a list call with exactly these filters, and the call's offset."""
        if len(segments) % 2:
            return None
        pairs = dict(zip(segments[::2], segments[1::2]))
        offset = int(pairs.pop("offset", 0) or 0) if str(pairs.get("offset", "0")).isdigit() else 0
        pairs.pop("limit", None)
        path = self.lists.get((entity, frozenset(pairs.items())))
        return (path, offset) if path else None

    def get(self, call: str, root: str) -> str | None:
        path = self.calls.get(call)
        if path is None:
            return None
        return rewrite_urls(path.read_text(encoding="utf-8", errors="replace"), root)


@lru_cache(maxsize=4)
def load_recorded(data_dir: str) -> Recorded:
    return Recorded(Path(data_dir))
