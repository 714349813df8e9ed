#!/usr/bin/env python
"""Django's manage.py for development; the installed command is `linkwork`."""

from linkwork.__main__ import main

if __name__ == "__main__":
    main()
