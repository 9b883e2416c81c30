"""Pure surrogate models (scikit-learn estimator API), saved as LightGBM text models + JSON.

``LGBMSurrogate`` loads on first use (it imports scikit-learn); :mod:`metabase.surrogate.textmodel`
predicts with saved models without it.
"""

__all__ = ["LGBMSurrogate"]


def __getattr__(name: str):
    if name == "LGBMSurrogate":
        from metabase.surrogate.model import LGBMSurrogate

        return LGBMSurrogate
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
