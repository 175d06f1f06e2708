"""recruitwatch detector: ``Detector.load().predict(texts)``."""

from .records import LabelledPost, Post, Prediction

__all__ = ["Detector", "LabelledPost", "Post", "Prediction"]


def __getattr__(name: str):
    # Importing the detector pulls in torch and peft; the taxonomy and records should not.
    if name == "Detector":
        from .detector import Detector

        return Detector
    raise AttributeError(name)
