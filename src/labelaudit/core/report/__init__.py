"""The audit report: one self-contained HTML page telling the story of a project (``labelaudit
report``). matplotlib, the optional ``report`` extra, is imported only while a report is drawn."""
