"""Importers of real OpenML exports: ``metabase import SOURCE PATH``.

Each source is one module with one :class:`~metabase.imports.base.Importer` subclass, registered in
``REGISTRY`` below as ``name -> "module:Class"`` so that importing this package stays cheap.
"""

from __future__ import annotations

import importlib

from metabase.errors import InputError
from metabase.imports.base import ImportBatch, Importer, TableLoad

REGISTRY: dict[str, str] = {
    "autosklearn": "metabase.imports.autosklearn:AutosklearnImporter",
    "lcdb": "metabase.imports.lcdb:LcdbImporter",
    "openml-sql": "metabase.imports.openml_sql:OpenmlSqlImporter",
    "tabrepo-metadata": "metabase.imports.tabrepo:TabrepoMetadataImporter",
    "meta-dataset": "metabase.imports.meta_dataset:MetaDatasetImporter",
    "openml-pimp": "metabase.imports.openml_pimp:OpenmlPimpImporter",
    "openml-study-arff": "metabase.imports.study_arff:StudyArffImporter",
    "openml-task-list": "metabase.imports.task_list:TaskListImporter",
    "qualities-csv": "metabase.imports.qualities_csv:QualitiesCsvImporter",
}


def get_importer(name: str) -> Importer:
    try:
        target = REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(REGISTRY)) or "none"
        raise InputError(f"unknown import source {name!r}; known sources: {known}") from None
    module, _, cls = target.partition(":")
    return getattr(importlib.import_module(module), cls)()


__all__ = ["REGISTRY", "ImportBatch", "Importer", "TableLoad", "get_importer"]
