"""Turn stored local runs into OpenML flows and run uploads (built here, sent by metabase.openml).

- :mod:`.tags` checks user tags against OpenML's rules;
- :mod:`.flows` builds a run's flow (openml-python's scikit-learn flow, or one from the catalogue);
- :mod:`.description` builds the run description XML and the predictions ARFF.
"""
