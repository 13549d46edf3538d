"""Command modules of the ``momentsense`` CLI; each has ``register(cli)`` (see :mod:`trainer.cli`)."""
