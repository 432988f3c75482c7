"""``python -m labelaudit``: the same entry point as the ``labelaudit`` command."""

from labelaudit.entry import main

raise SystemExit(main())
