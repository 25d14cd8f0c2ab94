"""Code that several task plugins share (alphabets, genome readers, model blocks).

Not a plugin itself: it registers nothing. A task imports from here instead of
from another task.
"""
