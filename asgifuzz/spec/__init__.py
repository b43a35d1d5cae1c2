"""The ASGI protocols' state tables, as data (pure: no anyio, no Hypothesis).

One module per protocol, in h11's style: ``http`` today.  Every ordering
rule of what an app may send lives in its protocol's table.
"""
