"""Aggregated, consented upload of the on-device timeline.

* :mod:`sdk.sync.payload`: the coarsened day payload (no raw samples, no coordinates by default).
* :mod:`sdk.sync.queue`: the durable offline queue of upload batches (SQLite).
* :mod:`sdk.sync.client`: batching, gzip, retries with backoff, policies, erasure (``requests``).
"""
