"""``python -m python_mastery_portfolio``: the tour of every pattern."""

from python_mastery_portfolio._tour import main

raise SystemExit(main())
