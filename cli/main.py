"""Entry point of the ``recruitwatch`` command: one sub-command per module of this package."""

from . import annotate, backbone, card, data, demo, embed, evaluate, explain, policy, predict, refit, scan, screen, train  # noqa: F401  (each module registers its command)
from ._app import app

if __name__ == "__main__":
    app()
