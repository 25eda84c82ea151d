"""``python -m jvqa`` is the ``jvqa`` command."""

from jvqa.cli import main

if __name__ == "__main__":
  raise SystemExit(main())
