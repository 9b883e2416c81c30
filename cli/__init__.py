"""The ``metabase`` command. Thin: each command is one library call plus output formatting."""
