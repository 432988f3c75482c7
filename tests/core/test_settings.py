"""Project settings: every refused value names the setting, and nothing is stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelaudit.core.errors import InputError
from labelaudit.core.project import Project


@pytest.mark.parametrize(
    ("key", "text", "message"),
    [
        ("votes_required", "0", "votes_required: expected a whole number >= 1, got 0"),
        ("votes_required", "two", "votes_required: expected a whole number, got 'two'"),
        ("min_agreement", "3/2", "min_agreement: expected a fraction between 0 and 1"),
        ("min_agreement", "most", "min_agreement: expected a fraction such as 2/3"),
        ("blind", "maybe", "blind: expected true or false, got 'maybe'"),
        ("show_suggestion", "", "show_suggestion: expected true or false"),
        ("review_issue_types", "labels", "review_issue_types: expected a comma list of label"),
        ("min_consensus_quality", "1.5", "min_consensus_quality: expected a number between 0"),
    ],
)
def test_every_setting_error_names_the_setting(
    tmp_path: Path, tiny_tree: Path, key: str, text: str, message: str
) -> None:
    with Project.create(tmp_path / "p", tiny_tree) as project:
        before = project.settings()
        with pytest.raises(InputError) as caught:
            project.set_setting(key, text)
        assert str(caught.value).startswith(message)
        assert project.settings() == before
