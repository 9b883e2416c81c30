"""Facades that connect the pure layers (recommend, surrogate, evaluate) to the store."""
