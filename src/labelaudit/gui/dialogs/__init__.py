"""Dialogs: who is working, new project, scan."""
