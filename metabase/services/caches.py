"""The caches of ``recommend``, beside the store (``settings.model_dir``), keyed on the store's
state.

- Prepared data: parsed, encoded and scaled runs, written once per store state so that a warm
  ``recommend`` skips reading and encoding a million runs (:func:`load`, :func:`save`). It is a
  pickle (the prepared data pickles as numpy columns and arrays and the fitted encoders, see
  :mod:`metabase.recommend.data`) whose arrays lie out of band in the same file and are mapped on
  reading, so a warm call reads the pages it uses and not the whole file. It is loaded with a
  restricted unpickler: only the classes a prepared meta-dataset is made of may be named in
  it, so a cache file from elsewhere (a store directory copied from someone else, say) cannot run
  code. Anything the unpickler refuses, or a file from another version of the libraries, is
  reported as :class:`CacheMiss`, and the caller rebuilds.
- Trained models: a strategy's ``models_`` (:class:`metabase.recommend.base.Models`) saved as
  LightGBM text with JSON metadata, and handed back to ``fit`` for the same training
  (:func:`fit_cached`), read by :mod:`metabase.surrogate.textmodel` (numpy only).
- Derived from the prepared data alone, and cached with it: the candidates (canonicalised, so a
  warm call loads neither the catalogue nor ConfigSpace) and the portfolio's pool.
- ``tune``'s fitted sequential strategy with its prepared data (:func:`load`, :func:`save`, see
  :mod:`metabase.services.tune_inputs`): a whole fitted strategy and not only a LightGBM text
  model as :func:`fit_cached` keeps, because most of RGPE's fit is its per-task random forests.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import mmap
import os
import pickle
import shutil
import struct
from pathlib import Path

log = logging.getLogger(__name__)

# (module, name) pairs a prepared meta-dataset needs, besides metabase.recommend's own classes
_ALLOWED = frozenset(
    {
        ("builtins", "slice"),
        ("builtins", "dict"),
        ("builtins", "list"),
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "tuple"),
        ("builtins", "complex"),
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy.core.multiarray", "scalar"),
        ("pandas", "DataFrame"),
        ("pandas", "Series"),
        ("pandas", "Index"),
        ("pandas", "RangeIndex"),
        ("pandas", "Int64Dtype"),
        ("pandas", "Float64Dtype"),
        ("pandas", "BooleanDtype"),
        ("pandas", "StringDtype"),
        ("pandas", "CategoricalDtype"),
        ("pandas", "Categorical"),
        ("pandas.arrays", "ArrowStringArray"),
        ("pandas.arrays", "IntegerArray"),
        ("pandas.arrays", "FloatingArray"),
        ("pandas.arrays", "BooleanArray"),
        ("pandas.arrays", "ArrowExtensionArray"),
        ("pandas", "ArrowDtype"),
        ("pandas._libs.internals", "_unpickle_block"),
        ("pandas.core.indexes.base", "_new_Index"),
        ("pandas.core.internals.managers", "BlockManager"),
        ("pyarrow.lib", "_restore_array"),
        ("pyarrow.lib", "py_buffer"),
        ("pyarrow.lib", "type_for_alias"),
        # a fitted sequential strategy (tune's cache): RGPE's per-task forests, the zero-shot
        # surrogate's boosters (a Booster unpickles from its model text)
        ("collections", "OrderedDict"),
        ("collections", "defaultdict"),
        ("sklearn.ensemble._forest", "RandomForestRegressor"),
        ("sklearn.tree._classes", "DecisionTreeRegressor"),
        ("sklearn.tree._tree", "Tree"),
        ("lightgbm.basic", "Booster"),
    }
)
_OWN = ("metabase.recommend.", "metabase.surrogate.")


class CacheMiss(Exception):
    """No usable cache: absent, unreadable, written by other code, or naming a forbidden global."""


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        if module.startswith(_OWN):
            found = super().find_class(module, name)
            if isinstance(found, type):  # our classes, never our functions
                return found
        raise pickle.UnpicklingError(f"{module}.{name} may not appear in a cache")


MAGIC = b"metabase-cache 2\n"
ALIGN = 64  # each array's bytes start at a multiple of this, as numpy prefers


def load(path: Path):
    """The object cached at ``path``; :class:`CacheMiss` when there is none that can be used.

    The file is mapped, not read: arrays come back backed by the mapping (read-only), so a call
    touches only the pages of the rows it reads (a store of a million runs caches about a GB).
    """
    try:
        with path.open("rb") as fh:
            mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as exc:  # ValueError: an empty file cannot be mapped
        raise CacheMiss(str(exc)) from None
    try:
        view = memoryview(mapped)
        if bytes(view[: len(MAGIC)]) != MAGIC:
            raise ValueError("not a cache file of this format")
        head = len(MAGIC)
        size, count = struct.unpack_from("<QQ", view, head)
        table = struct.unpack_from(f"<{2 * count}Q", view, head + 16)
        start = head + 16 + 16 * count
        buffers = [view[table[2 * i] : table[2 * i] + table[2 * i + 1]] for i in range(count)]
        return _RestrictedUnpickler(io.BytesIO(view[start : start + size]), buffers=buffers).load()
    except Exception as exc:  # any failure to rebuild the object is a miss, never an error
        raise CacheMiss(f"{type(exc).__name__}: {exc}") from None


def save(path: Path, obj, keep: str = "") -> None:
    """Write ``obj`` to ``path`` atomically (readers never see half a file) and remove the other
    caches in its directory whose names start with ``keep``. Layout: :data:`MAGIC`, the pickle's
    length and the number of out-of-band buffers (the arrays' bytes, pickle protocol 5), their
    (offset, length), the pickle, then each buffer at an offset aligned to :data:`ALIGN`.
    """
    buffers: list = []
    data = pickle.dumps(obj, protocol=5, buffer_callback=buffers.append)
    raws = [b.raw() for b in buffers]
    offset = len(MAGIC) + 16 + 16 * len(raws) + len(data)
    table = []
    for raw in raws:
        offset += -offset % ALIGN
        table += [offset, raw.nbytes]
        offset += raw.nbytes
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + f".{os.getpid()}.tmp")
    try:
        with partial.open("wb") as fh:
            fh.write(MAGIC + struct.pack(f"<QQ{len(table)}Q", len(data), len(raws), *table))
            fh.write(data)
            for raw, at in zip(raws, table[::2]):
                fh.write(b"\0" * (at - fh.tell()))
                fh.write(raw)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    if keep:
        for old in path.parent.glob(keep + "*"):
            if old != path and old.suffix == path.suffix:
                old.unlink(missing_ok=True)


def code_version() -> str:
    """A digest of the code that shapes the prepared data, so that an upgrade never unpickles a
    cache written by other code.
    """
    root = Path(__file__).resolve().parents[1]  # the metabase package
    shaping = [
        *(root / "recommend").glob("*.py"),
        root / "services" / "recommend.py",
        root / "store" / "run_queries.py",
    ]
    digest = hashlib.sha1()
    for path in sorted(shaping):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _cached_models(directory: Path, features: list[str]):
    """The models saved in ``directory`` (a ``surrogate`` folder for a design of these feature
    columns, ``parts.json``: the parts ``default`` chose), else None.
    """
    from metabase.recommend.base import Models
    from metabase.surrogate.textmodel import load_text_surrogate

    parts_file, model_dir = directory / "parts.json", directory / "surrogate"
    if not (parts_file.is_file() or model_dir.is_dir()):
        return None
    try:
        parts = tuple(json.loads(parts_file.read_text())) if parts_file.is_file() else None
        model = None
        if model_dir.is_dir():
            # read without lightgbm (which imports scikit-learn and scipy.stats: a second of
            # start-up)
            model, meta = load_text_surrogate(model_dir)
            if meta.get("features") != features:
                raise ValueError("the encoding changed")
        if parts is not None and ("surrogate" in parts) != (model is not None):
            raise ValueError("the chosen parts and the saved models disagree")
        return Models(surrogate=model, parts=parts)
    except Exception as exc:  # a corrupt file (truncated, overwritten) is a miss, never an error
        log.warning(
            "model cache %s unusable (%s: %s): retraining", directory, type(exc).__name__, exc
        )
        return None


def training_digest(training) -> str:
    """A digest of what a fit learns from: the training's runs (task, pipeline, configuration,
    score) and its tasks' meta-features.
    """
    import numpy as np

    runs = training.runs
    digest = hashlib.sha1()
    for column in ("task_id", "pipeline", "config", "score"):
        digest.update("\x1f".join(map(repr, runs[column].tolist())).encode())
    digest.update(np.ascontiguousarray(training.features, dtype=float).tobytes())
    return digest.hexdigest()


def _shipped_parts(strategy, training):
    """The parts ``default`` chose on the starter, shipped with it (``default_parts.json``), when
    ``training`` is the starter's: the choice costs four fits, too slow for a first recommend.
    """
    from metabase import starter
    from metabase.recommend.base import Models

    if getattr(strategy, "parts", None) != "auto":
        return None
    shipped = starter.default_parts()
    if shipped is None or shipped["training"] != training_digest(training):
        return None
    return Models(parts=tuple(shipped["parts"]))


def fit_cached(strategy, training, model_dir: Path, key: str):
    """Fit ``strategy`` on ``training``, with its models (and ``default``'s chosen parts) cached
    under ``model_dir/<key>`` when there are any; what it trains is saved there, and the caches
    of older store states of the same strategy (``<name>-*``) are removed.
    """
    directory = model_dir / key
    features = list(training.prepared.encoder.feature_names) + list(
        training.prepared.feature_columns
    )
    cached = _cached_models(directory, features)
    given = cached if cached is not None else _shipped_parts(strategy, training)
    strategy.fit(training, given)
    trained = strategy.models_
    if (trained.surrogate is None and trained.parts is None) or (
        cached is not None and (cached.surrogate is not None or trained.surrogate is None)
    ):
        return strategy
    partial = model_dir / f".{key}.{os.getpid()}.tmp"
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
        prefix = key.rsplit("-", 1)[0] + "-"
        for old in model_dir.glob(prefix + "*"):
            if old.name != key:
                shutil.rmtree(old, ignore_errors=True)
        # written aside and renamed into place: a reader (the bot retrains while recommend
        # reads) finds the whole model or none
        partial.mkdir(parents=True)
        if trained.surrogate is not None:
            trained.surrogate.save(
                partial / "surrogate", metadata={"features": features, "key": key}
            )
        if trained.parts is not None:
            (partial / "parts.json").write_text(json.dumps(list(trained.parts)))
        shutil.rmtree(directory, ignore_errors=True)
        os.replace(partial, directory)
    except OSError as exc:  # a read-only place: recommend is a read, so it answers uncached
        log.debug("cannot cache the model in %s (%s)", model_dir, exc)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return strategy
