"""``--dry-run``: write what would be uploaded, checked against OpenML's XSDs.

The XSDs are OpenML's server files (``openml.run.upload.xsd``,
``openml.implementation.upload.xsd``), looked for under ``$METABASE_OPENML_XSD`` or
``$METABASE_OPENML_DATA/openml-server/xsd``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from metabase.errors import ConfigError, InputError


def xsd_dir() -> Path:
    for folder in (
        os.environ.get("METABASE_OPENML_XSD"),
        os.environ.get("METABASE_OPENML_DATA")
        and Path(os.environ["METABASE_OPENML_DATA"]) / "openml-server/xsd",
    ):
        if folder and (Path(folder) / "openml.run.upload.xsd").exists():
            return Path(folder)
    raise ConfigError(
        "--dry-run validates against OpenML's XSDs: set METABASE_OPENML_XSD to a folder holding "
        "openml.run.upload.xsd "
        "(from github.com/openml/OpenML, openml_OS/views/pages/api_new/v1/xsd)"
    )


@lru_cache(maxsize=4)
def _schema(name: str):
    import xmlschema

    return xmlschema.XMLSchema(str(xsd_dir() / name))


def _validate(text: str, name: str, what: str) -> None:
    try:
        _schema(name).validate(text)
    except Exception as exc:  # noqa: BLE001 - xmlschema's errors span many lines; one is enough
        raise InputError(
            f"the {what} is not valid against {name}: {str(exc).splitlines()[0][:300]}"
        ) from None


def validate_run(xml: str) -> None:
    _validate(xml, "openml.run.upload.xsd", "run description")


def write_dry(out_dir: Path, run_key: str, flow, xml: str, arff: str | None) -> Path:
    """Write ``<out>/<run key>/{flow.xml, description.xml, predictions.arff}``; both XMLs
    validated.
    """
    folder = Path(out_dir) / run_key.replace(":", "_")
    folder.mkdir(parents=True, exist_ok=True)
    flow_xml = flow._to_xml()
    _validate(flow_xml, "openml.implementation.upload.xsd", "flow description")
    (folder / "flow.xml").write_text(flow_xml)
    (folder / "description.xml").write_text(xml)
    if arff is not None:
        (folder / "predictions.arff").write_text(arff)
    return folder
