"""The momentsense server: ingest of aggregated timelines, feedback, erasure and the model registry.

FastAPI + SQLAlchemy (``pip install -e .[server]``); started by ``momentsense serve``. SQLite by
default, any SQLAlchemy URL (e.g. ``postgresql+psycopg://...``) in production.

* :mod:`trainer.server.db`: tables and the engine.
* :mod:`trainer.server.schemas`: request bodies (the day payload checked with the SDK's own rules, :mod:`sdk.sync.schema`).
* :mod:`trainer.server.limits`: body size limits, gzip bodies, admission (503 back-pressure), token buckets.
* :mod:`trainer.server.auth`: one session per request, authentication and its rate limits.
* :mod:`trainer.server.ingest`: storing a batch once under concurrent retries; feedback.
* :mod:`trainer.server.errors`: refusals as ``{"reason", "detail"}``, strict JSON bodies, overload → 503.
* :mod:`trainer.server.registry`: models from a folder of ``.tflite`` + manifest (+ ``.sig``).
* :mod:`trainer.server.app`: :func:`create_app`.
* :mod:`trainer.server.export`: ``momentsense export-training`` (days + feedback → trainer datasets).
* :mod:`trainer.server.testing`: the server in a subprocess on loopback (tests, demos).
* :mod:`trainer.server.payload_size`: measured upload bytes per day vs raw sensor bytes.
* :mod:`trainer.server.retrain_round`: one round of the loop (devices upload → export → retrain → compare).
"""
