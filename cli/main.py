"""Entry point of the ``recruitwatch`` command: one sub-command per module of this package."""

from . import backbone, card, data, embed, evaluate, policy, predict, train  # noqa: F401  (each module registers its command)
from ._app import app

if __name__ == "__main__":
    app()
