"""Pure surrogate models (scikit-learn estimator API), saved as LightGBM text models + JSON."""

from metabase.surrogate.model import LGBMSurrogate

__all__ = ["LGBMSurrogate"]
