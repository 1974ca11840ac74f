"""The decision engine and its parts (pure: no I/O, no clock).

``BUILD`` says whether the mypyc-compiled modules are in use (``native``) or the sources are
(``pure``); see ``processors/_native.py``.
"""

from processors._native import activate

BUILD = activate(__path__)
