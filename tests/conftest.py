import numpy as np
import pytest


@pytest.fixture
def rng():
    """A fresh, seeded generator per test (randomness is explicit everywhere)."""
    return np.random.default_rng(12345)
