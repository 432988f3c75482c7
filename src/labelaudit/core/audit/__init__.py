"""The audit engine: thin typed wrappers over cleanlab (label issues, scores, confident joint,
dataset health, near-duplicates, outliers, image-property issues). Arrays in, arrays out: no
store. The ``labelaudit scan`` use case around it is ``core/usecases/scan.py``; stored results
are ``core/store/scan_results.py``; their read models ``core/views/{findings,issue_table}.py``.
"""
