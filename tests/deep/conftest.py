"""Fixtures for the deep/ tests: CPU, one thread, small digits, one tiny VAE per session."""

import contextlib

import pytest
import torch

from deep.config import TrainConfig

# The smallest training setup that still learns: 8x8 digits, a width-8 CNN.
FAST = dict(dataset="digits", digits_size=8, model="cnn", width=8, batch_size=64,
            epochs=4, lr=0.05, progress=False, device="cpu")


@contextlib.contextmanager
def one_torch_thread():
    """One torch thread, restored afterwards: the deep/ tests are small enough that a second
    thread buys little, and on a shared two-core machine oversubscribed OpenMP threads slow
    down five- to tenfold. Scoped so that tests outside tests/deep keep their setting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _one_torch_thread():
    with one_torch_thread():
        yield


@pytest.fixture
def fast():
    """Keyword arguments of a TrainConfig that trains in about a second."""
    return dict(FAST)


@pytest.fixture(scope="session")
def digits_data():
    from deep.data import load_dataset

    return load_dataset(TrainConfig(**FAST))


@pytest.fixture(scope="session")
def vae_checkpoint(tmp_path_factory):
    """A small VAE on 8x8 digits, trained for a few epochs through the real command."""
    from deep import vae

    out = tmp_path_factory.mktemp("vae")
    with one_torch_thread():
        vae.main(["--dataset", "digits", "--digits-size", "8", "--latent-dim", "8",
                  "--width", "16", "--epochs", "15", "--batch-size", "32", "--lr", "3e-3",
                  "--out-dir", str(out), "--run-name", "v", "--no-progress", "--device", "cpu"])
    return out / "v" / "vae.pt"
