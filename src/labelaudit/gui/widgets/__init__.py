"""Panels of the main window: sidebar, filters, detail pane, voting, summary, messages."""
