"""The preprocessing in front of every catalogue estimator: impute, encode, scale.

Built to be publishable with openml-python's scikit-learn extension, which cannot serialise
``make_column_selector`` and refuses a flow holding the same component class twice: columns are
explicit lists (indices when the column order is known), numeric columns get the only
SimpleImputer, and categorical columns go straight to a OneHotEncoder, which treats missing values
as a category of their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.base import DataSchema, Preprocessing

# Rare categories beyond this many per column share one column, so that high-cardinality
# features cannot blow up the dense design matrix.
MAX_CATEGORIES = 32


def column_selectors(schema: DataSchema) -> tuple[list, list]:
    if schema.columns is None:
        return list(schema.numeric), list(schema.categorical)
    position = {name: i for i, name in enumerate(schema.columns)}
    return [position[c] for c in schema.numeric], [position[c] for c in schema.categorical]


def make_preprocessor(schema: DataSchema, imputation_strategy: str, spec: Preprocessing):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric_cols, categorical_cols = column_selectors(schema)
    numeric_steps = [("simpleimputer", SimpleImputer(strategy=imputation_strategy))]
    if spec.scale:
        numeric_steps.append(("standardscaler", StandardScaler()))
    transformers = []
    if numeric_cols:
        transformers.append(("numeric", Pipeline(numeric_steps), numeric_cols))
    if categorical_cols:
        encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist",
            max_categories=MAX_CATEGORIES,
            sparse_output=not spec.dense,
        )
        transformers.append(("nominal", encoder, categorical_cols))
    return ColumnTransformer(
        transformers, remainder="drop", sparse_threshold=0.0 if spec.dense else 0.3
    )
