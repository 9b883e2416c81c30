"""Test support that ships with the package: the OpenML replay server and pytest fixtures."""
