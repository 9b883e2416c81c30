"""Strict readers of the text data files metabase takes from outside: ARFF and delimited tables.

One set of rules for every reader (the importers, and the data loaders of ``metabase features``
and ``metabase recommend --dataset``): UTF-8 only, a bounded line length
(:data:`~metabase.formats.text.MAX_LINE_BYTES`), exactly one value per declared column on every
row, and each value valid for its column. Anything else is a
:class:`~metabase.errors.DataFormatError` naming the file, line and column; nothing is padded,
shifted, replaced or coerced to NaN.

- :mod:`metabase.formats.text`: the lines of a file (plain or gzipped), strictly decoded;
- :mod:`metabase.formats.arff`: ARFF headers and typed data, dense and sparse;
- :mod:`metabase.formats.delimited`: CSV and TSV tables with a header line.
"""
