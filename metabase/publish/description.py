"""A run's upload: the description XML (valid against ``openml.run.upload.xsd``) and the
predictions ARFF in OpenML's layout.
"""

from __future__ import annotations

import math
from collections import OrderedDict

ERROR_LIMIT = 128  # OpenML keeps an error message of at most this many characters


def description_xml(
    *,
    task_id: int,
    flow_id: int,
    parameter_settings: list[dict],
    tags: tuple,
    fold_evaluations: list[tuple[str, int, int, float]],
    error_message: str | None = None,
    setup_string: str | None = None,
) -> str:
    """openml-python's own layout (``OpenMLRun._to_dict``): evaluations per fold, repeat and fold
    as attributes; non-finite values are left out (the XSD wants a number).
    """
    import xmltodict

    run = OrderedDict()
    run["@xmlns:oml"] = "http://openml.org/openml"
    run["oml:task_id"] = int(task_id)
    run["oml:flow_id"] = int(flow_id)
    if setup_string:
        run["oml:setup_string"] = setup_string
    if error_message is not None:
        run["oml:error_message"] = short_error(error_message)
    run["oml:parameter_setting"] = [
        OrderedDict((k, "" if v is None else str(v)) for k, v in p.items())
        for p in parameter_settings
    ]
    run["oml:tag"] = list(tags)
    evaluations = [
        OrderedDict(
            [
                ("@repeat", str(r)),
                ("@fold", str(f)),
                ("oml:name", m),
                ("oml:value", repr(float(v))),
            ]
        )
        for m, r, f, v in fold_evaluations
        if v is not None and math.isfinite(v)
    ]
    if evaluations:
        run["oml:output_data"] = OrderedDict([("oml:evaluation", evaluations)])
    return xmltodict.unparse({"oml:run": run}, pretty=True)


def short_error(message: str) -> str:
    text = " ".join((message or "failed").split())
    return text if len(text) <= ERROR_LIMIT else text[: ERROR_LIMIT - 3] + "..."


def predictions_arff(task_id: int, frame, class_labels: list | None) -> str:
    """OpenML's predictions file: ``repeat, fold, sample, row_id``, then for classification
    ``prediction, correct, confidence.<class>`` (the class order of the task), for regression
    ``prediction, truth``.
    """
    import arff

    head = [
        ("repeat", "NUMERIC"),
        ("fold", "NUMERIC"),
        ("sample", "NUMERIC"),
        ("row_id", "NUMERIC"),
    ]
    rows = []
    if class_labels:
        labels = [str(c) for c in class_labels]
        attributes = (
            head
            + [("prediction", labels), ("correct", labels)]
            + [(f"confidence.{c}", "NUMERIC") for c in labels]
        )
        for r in frame.itertuples(index=False):
            conf = list(r.confidence) if r.confidence is not None else [math.nan] * len(labels)
            rows.append(
                [
                    int(r.repeat),
                    int(r.fold),
                    int(r.sample),
                    int(r.row_id),
                    r.prediction,
                    r.correct,
                    *(float(c) for c in conf),
                ]
            )
    else:
        attributes = head + [("prediction", "NUMERIC"), ("truth", "NUMERIC")]
        rows = [
            [
                int(r.repeat),
                int(r.fold),
                int(r.sample),
                int(r.row_id),
                float(r.prediction),
                float(r.correct),
            ]
            for r in frame.itertuples(index=False)
        ]
    return arff.dumps(
        {
            "relation": f"openml_task_{int(task_id)}_predictions",
            "description": "metabase",
            "attributes": attributes,
            "data": rows,
        }
    )
