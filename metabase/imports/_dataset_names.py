"""OpenML dataset names -> dataset ids, from the other exports beside an import's path.

Some sources (auto-sklearn's current meta-learning base) key datasets by name only. OpenML names
are not unique: ``abalone`` is dataset 183 (28 classes), 720 (2 classes) and 1557 (3 classes);
``2dplanes`` is 215 (regression) and 727 (binarised). A name is therefore mapped only when the
reference data leave one candidate after filtering by what the source knows about the dataset:
its task kind and, for classification, its number of classes.

Reference data, found by walking up from the import path to the ``openml-data`` folder:
``qualities/openml_dataset_qualities_2872.csv`` (``Id``, ``Name (version)``, ``NumberOfClasses``),
``lcdb/lcdb/datasets.csv``, TabRepo's ``task_metadata*.csv``, the ``pmlb/datasets/<id>_<name>``
folder names and ``datasets/<name>/README.md`` (which links ``openml.org/d/<id>``).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

_VERSIONED = re.compile(r"^(?P<name>.*) \((?P<version>\d+)\)$")
_README_ID = re.compile(r"openml\.org/d/(\d+)")


@dataclass
class NameIndex:
    """``name -> {dataset_id: number of classes or None}``."""

    candidates: dict[str, dict[int, float | None]] = field(default_factory=dict)

    def _folded(self) -> dict[str, list[dict[int, float | None]]]:
        if getattr(self, "_folded_cache", None) is None or len(self._folded_cache[0]) != len(
            self.candidates
        ):
            folded: dict[str, list] = {}
            for n, c in self.candidates.items():
                folded.setdefault(n.lower(), []).append(c)
            self._folded_cache = (dict(self.candidates), folded)
        return self._folded_cache[1]

    def add(self, name: str, dataset_id: int, n_classes: float | None = None) -> None:
        known = self.candidates.setdefault(name.strip(), {})
        if known.get(dataset_id) is None:
            known[dataset_id] = n_classes

    def resolve(
        self, name: str, *, regression: bool, n_classes: float | None = None
    ) -> int | None:
        """The one dataset id that fits, or None when the name is unknown or stays ambiguous."""
        found = self.candidates.get(name)
        if not found:  # OpenML names differ in case only by accident: accept a unique folding
            folded = self._folded().get(name.lower(), [])
            found = folded[0] if len(folded) == 1 else None
        if not found:
            return None
        if regression:
            fits = {d: c for d, c in found.items() if not c}
        else:
            # a training split can miss rare classes: the source may count fewer than OpenML
            fits = {
                d: c
                for d, c in found.items()
                if c is None or (c >= 2 and (n_classes is None or c >= n_classes))
            }
            known = {c for c in fits.values() if c is not None}
            if len(fits) > 1 and known:
                closest = min(known)
                fits = {d: c for d, c in fits.items() if c == closest}
        return next(iter(fits)) if len(fits) == 1 else None


def find_data_root(path: Path) -> Path | None:
    """The ``openml-data`` folder above ``path`` (the one holding the other exports), if any."""
    for parent in [path, *path.resolve().parents]:
        if (
            (parent / "qualities").is_dir()
            or (parent / "lcdb" / "lcdb").is_dir()
            or (parent / "pmlb").is_dir()
        ):
            return parent
    return None


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


def _csv_rows(path: Path):
    with open(path, newline="", encoding="utf-8", errors="replace") as f:
        yield from csv.DictReader(f)


def build_index(root: Path | None) -> NameIndex:
    index = NameIndex()
    if root is None:
        return index
    qualities = root / "qualities" / "openml_dataset_qualities_2872.csv"
    if qualities.is_file():
        for row in _csv_rows(qualities):
            m = _VERSIONED.match(row.get("Name") or "")
            if row.get("Id", "").isdigit():
                index.add(
                    m["name"] if m else row["Name"],
                    int(row["Id"]),
                    _float(row.get("NumberOfClasses")),
                )
    lcdb = root / "lcdb" / "lcdb" / "datasets.csv"
    if lcdb.is_file():
        for row in _csv_rows(lcdb):
            if (row.get("openmlid") or "").isdigit():
                index.add(row["Name"], int(row["openmlid"]), _float(row.get("NumberOfClasses")))
    for meta in (
        sorted((root / "tabrepo").rglob("task_metadata*.csv"))
        if (root / "tabrepo").is_dir()
        else []
    ):
        for row in _csv_rows(meta):
            if (row.get("did") or "").isdigit() and row.get("name"):
                index.add(row["name"], int(row["did"]), _float(row.get("NumberOfClasses")))
    pmlb = root / "pmlb" / "datasets"
    if pmlb.is_dir():
        for folder in sorted(pmlb.iterdir()):
            head, _, name = folder.name.partition("_")
            if head.isdigit() and name:
                index.add(name, int(head))
    datasets = root / "datasets"
    if datasets.is_dir():
        for readme in sorted(datasets.glob("*/README.md")):
            m = _README_ID.search(readme.read_text(errors="replace")[:2000])
            if m:
                index.add(readme.parent.name, int(m.group(1)))
    return index
