"""``python -m control.cli``: the ``parley`` command without its installed script."""

from control.cli import main

if __name__ == "__main__":
    main()
