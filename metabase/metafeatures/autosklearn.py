"""auto-sklearn meta-features (group ``autosklearn``)."""
