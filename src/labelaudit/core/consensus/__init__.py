"""Votes, consensus (majority, CROWDLAB, Dawid-Skene), agreement statistics, lead decisions."""
