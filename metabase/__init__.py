"""metabase: an OpenML-integrated meta-learning knowledge base.

Importing the package is cheap: heavy dependencies (duckdb, openml, lightgbm, torch) load only in
the modules that need them.
"""

from metabase.errors import MetabaseError

__version__ = "0.1.0"
__all__ = ["MetabaseError", "__version__"]
