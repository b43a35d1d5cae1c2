"""The characters of every generated text.

``st.text()``'s default alphabet is ``characters(codec="utf-8")``, and
Hypothesis computes that codec's intervals by encoding every code point
once per process: 5 s on an idle machine, 20 s under load, paid inside the
first example that draws text (it made a one-second run last ten).  All
code points but surrogates, without a codec, are the same set for free.
"""

from __future__ import annotations

from hypothesis import strategies as st

__all__ = ("TEXT_CHARS",)

TEXT_CHARS = st.characters(exclude_categories=["Cs"])
