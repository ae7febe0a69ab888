"""Data: digits and synthetic, real on-disk formats fabricated in a temp dir, augmentation."""

import pickle
import struct

import numpy as np
import pytest
import scipy.io
import torch
import torch.nn.functional as F

from deep.config import TrainConfig
from deep.data import (
    augment,
    epoch_batches,
    expected_files,
    load_dataset,
    synthetic_images,
    synthetic_templates,
)

# ----------------------------------------------------------------------------- digits


def test_digits_split_is_fixed_stratified_and_disjoint():
    a = load_dataset(TrainConfig(dataset="digits", digits_size=16))
    b = load_dataset(TrainConfig(dataset="digits", digits_size=16, seed=5))  # training seed
    c = load_dataset(TrainConfig(dataset="digits", digits_size=16, data_seed=1))
    assert a.x_train.shape[1:] == (1, 16, 16)
    assert (len(a.x_train), len(a.x_val), len(a.x_test)) == (1293, 144, 360)
    assert torch.equal(a.x_test, b.x_test) and torch.equal(a.x_val, b.x_val)
    assert not torch.equal(a.x_test, c.x_test)
    assert torch.bincount(a.y_test).tolist() == pytest.approx([36] * 10, abs=1)  # stratified
    # No image appears in two splits (digits has a few exact duplicates: compare counts).
    from sklearn.datasets import load_digits

    assert len(a.x_train) + len(a.x_val) + len(a.x_test) == len(load_digits().target)
    assert a.x_train.min() >= 0 and a.x_train.max() <= 1


def test_digits_upsampling_repeats_pixels():
    small = load_dataset(TrainConfig(dataset="digits", digits_size=8))
    big = load_dataset(TrainConfig(dataset="digits", digits_size=32))
    expect = small.x_test.repeat_interleave(4, 2).repeat_interleave(4, 3)
    assert torch.equal(big.x_test, expect)
    assert set((small.x_test * 16).round().unique().tolist()) <= set(range(17))


# ----------------------------------------------------------------------------- synthetic


def test_synthetic_is_the_signal_plus_noise_model():
    """Eq. 8 in pixel space: templates on a simplex of norm mu_f, noise sigma_f inside the
    template subspace and sigma_n outside it."""
    K, shape, mu_f, s_f, s_n = 5, (2, 8, 8), 3.0, 0.7, 0.2
    g = torch.Generator().manual_seed(0)
    templates, basis = synthetic_templates(K, shape, mu_f, g)
    flat = templates.flatten(1).double()
    torch.testing.assert_close(basis.T @ basis, torch.eye(K - 1), rtol=0, atol=1e-5)
    torch.testing.assert_close(flat.norm(dim=1), torch.full((K,), mu_f, dtype=torch.float64),
                               rtol=1e-5, atol=0)
    torch.testing.assert_close(flat.sum(0), torch.zeros(flat.shape[1], dtype=torch.float64),
                               rtol=0, atol=1e-5)
    x, y = synthetic_images(20000, templates, basis, s_f, s_n, g)
    assert x.shape == (20000, *shape)
    assert torch.bincount(y).tolist() == [4000] * K
    noise = (x - templates[y]).flatten(1).double()  # (n, D)
    inside = noise @ basis.double()  # (n, K-1) coordinates in the template subspace
    outside = noise - inside @ basis.double().T
    D = noise.shape[1]
    # Variance per direction; 20000 samples give relative SE ~ 1 % (inside) and less outside.
    assert inside.var(0).mean().item() == pytest.approx(s_f**2, rel=0.03)
    assert (outside.pow(2).sum(1).mean() / (D - K + 1)).item() == pytest.approx(s_n**2, rel=0.03)


def test_synthetic_templates_are_the_core_simplex():
    """The templates' coordinates in the template basis are logitreg's class means of
    Eq. 8 (one definition of the simplex)."""
    from logitreg.data import simplex_means

    for K in (2, 3, 10):
        templates, basis = synthetic_templates(K, (3, 8, 8), 2.5, torch.Generator().manual_seed(1))
        coords = templates.flatten(1).double() @ basis.double()  # (K, K-1)
        # float32 storage of templates and basis: relative rounding ~1e-7 per entry.
        np.testing.assert_allclose(coords.numpy(), simplex_means(K, K - 1, 2.5), atol=1e-5)


def test_synthetic_dataset_shape_and_seed():
    kw = dict(dataset="synthetic", synthetic_shape=(3, 16, 16), synthetic_train=200,
              synthetic_test=50)
    a, b = load_dataset(TrainConfig(**kw)), load_dataset(TrainConfig(**kw, seed=3))
    assert a.x_train.shape == (180, 3, 16, 16) and a.x_test.shape == (50, 3, 16, 16)
    assert torch.equal(a.x_train, b.x_train)  # the data depend on data_seed only


# ----------------------------------------------------------------------------- fabricated files


def _idx(path, array):
    """Write an IDX (ubyte) file: magic 0x0800 | ndim, then big-endian dims, then bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def _images(rng, n, shape):
    return rng.integers(0, 256, size=(n, *shape), dtype=np.uint8)


@pytest.mark.parametrize("name, folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_mnist_family_from_idx_files(tmp_path, rng, name, folder):
    raw = tmp_path / folder / "raw"
    sets = {}
    for split, n in (("train", 40), ("t10k", 12)):
        x, y = _images(rng, n, (28, 28)), rng.integers(0, 10, n)
        _idx(raw / f"{split}-images-idx3-ubyte", x)
        _idx(raw / f"{split}-labels-idx1-ubyte", y)
        sets[split] = (x, y)
    data = load_dataset(TrainConfig(dataset=name, data_root=str(tmp_path), val_fraction=0.0))
    assert data.x_train.shape == (40, 1, 28, 28)
    np.testing.assert_array_equal((data.x_test[:, 0] * 255).round().numpy(), sets["t10k"][0])
    np.testing.assert_array_equal(data.y_test.numpy(), sets["t10k"][1])
    np.testing.assert_array_equal(data.y_train.numpy(), sets["train"][1])


def _cifar(tmp_path, rng, name):
    if name == "cifar10":
        folder, files, key, meta = "cifar-10-batches-py", [f"data_batch_{i}" for i in
                                                          range(1, 6)] + ["test_batch"], \
            "labels", ("batches.meta", "label_names", 10)
    else:
        folder, files, key, meta = "cifar-100-python", ["train", "test"], "fine_labels", \
            ("meta", "fine_label_names", 100)
    root = tmp_path / folder
    root.mkdir()
    written = {}
    for f in files:
        n = 6
        x = _images(rng, n, (3072,))  # rows: 1024 R, 1024 G, 1024 B values
        y = rng.integers(0, meta[2], n).tolist()
        with open(root / f, "wb") as fh:
            pickle.dump({"data": x, key: y, "batch_label": f}, fh)
        written[f] = (x, y)
    with open(root / meta[0], "wb") as fh:
        pickle.dump({meta[1]: [f"class{i}" for i in range(meta[2])]}, fh)
    return written, files


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_cifar_from_pickle_batches(tmp_path, rng, name):
    written, files = _cifar(tmp_path, rng, name)
    cfg = TrainConfig(dataset=name, data_root=str(tmp_path), val_fraction=0.0,
                      verify_checksums=False)
    data = load_dataset(cfg)
    n_train = 6 * (len(files) - 1)
    assert data.x_train.shape == (n_train, 3, 32, 32) and data.x_test.shape == (6, 3, 32, 32)
    x_test, y_test = written[files[-1]]
    expect = x_test.reshape(6, 3, 32, 32)  # the CIFAR row layout is channel-major
    np.testing.assert_array_equal((data.x_test * 255).round().numpy(), expect)
    np.testing.assert_array_equal(data.y_test.numpy(), y_test)
    assert data.num_classes == (10 if name == "cifar10" else 100)


def test_cifar_checksums_are_checked_by_default(tmp_path, rng):
    _cifar(tmp_path, rng, "cifar10")
    with pytest.raises(ValueError, match=r"cifar10 under --data-root=.*md5.*--no-verify-checksums"):
        load_dataset(TrainConfig(dataset="cifar10", data_root=str(tmp_path)))


def test_svhn_from_mat_files(tmp_path, rng):
    sets = {}
    for split, n in (("train", 30), ("test", 10)):
        x = _images(rng, n, (32, 32, 3)).transpose(1, 2, 3, 0)  # SVHN: (H, W, C, N)
        y = rng.integers(1, 11, (n, 1))  # labels 1..10, 10 meaning the digit 0
        scipy.io.savemat(tmp_path / f"{split}_32x32.mat", {"X": x, "y": y})
        sets[split] = (x, y)
    data = load_dataset(TrainConfig(dataset="svhn", data_root=str(tmp_path), val_fraction=0.2,
                                    verify_checksums=False))
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (24, 6, 10)
    x, y = sets["test"]
    np.testing.assert_array_equal((data.x_test * 255).round().numpy(), x.transpose(3, 2, 0, 1))
    np.testing.assert_array_equal(data.y_test.numpy(), np.where(y[:, 0] == 10, 0, y[:, 0]))


@pytest.mark.parametrize("name, listed", [
    ("mnist", "MNIST/raw/train-images-idx3-ubyte"),
    ("fashion-mnist", "FashionMNIST/raw/t10k-labels-idx1-ubyte"),
    ("cifar10", "cifar-10-batches-py/data_batch_5"),
    ("cifar100", "cifar-100-python/meta"),
    ("svhn", "test_32x32.mat"),
])
def test_missing_files_error_names_dataset_root_and_files(tmp_path, name, listed):
    with pytest.raises(FileNotFoundError) as e:
        load_dataset(TrainConfig(dataset=name, data_root=str(tmp_path)))
    msg = str(e.value)
    assert f"--data-root={tmp_path}" in msg and f"data set {name} expects" in msg
    assert listed in msg and "--download" in msg
    assert str(tmp_path / listed) in map(str, expected_files(name, tmp_path))


def test_missing_root_error(tmp_path):
    root = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError, match=rf"--data-root={root} does not exist.*cifar10"):
        load_dataset(TrainConfig(dataset="cifar10", data_root=str(root)))


# ----------------------------------------------------------------------------- augmentation


def test_augment_matches_a_per_image_reference():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(16, 3, 9, 7, generator=g)
    out = augment(x, crop_pad=3, hflip=True, generator=torch.Generator().manual_seed(1))
    # Replay the same draws and crop/flip each image with plain slicing.
    g = torch.Generator().manual_seed(1)
    dy = torch.randint(0, 7, (16, 1), generator=g)[:, 0]
    dx = torch.randint(0, 7, (16, 1), generator=g)[:, 0]
    flip = torch.rand(16, generator=g) < 0.5
    padded = F.pad(x, (3, 3, 3, 3))
    for i in range(16):
        ref = padded[i, :, dy[i]:dy[i] + 9, dx[i]:dx[i] + 7]
        ref = ref.flip(2) if flip[i] else ref
        assert torch.equal(out[i], ref)
    assert 0 < flip.sum() < 16


def test_augment_off_is_identity_and_batches_cover_an_epoch():
    x = torch.rand(4, 1, 5, 5)
    assert torch.equal(augment(x, 0, False, torch.Generator()), x)
    b = epoch_batches(103, 10, torch.Generator().manual_seed(0))
    assert b.shape == (10, 10) and len(b.unique()) == 100 and b.max() < 103


# ----------------------------------------------------------------------------- bad files


def _mnist(root, rng, n_train=40, n_test=12):
    """Fabricated MNIST IDX files under ``root``; returns their raw folder."""
    raw = root / "MNIST" / "raw"
    for split, n in (("train", n_train), ("t10k", n_test)):
        _idx(raw / f"{split}-images-idx3-ubyte", _images(rng, n, (28, 28)))
        _idx(raw / f"{split}-labels-idx1-ubyte", rng.integers(0, 10, n))
    return raw


def _garbage(n=2000):
    return np.random.default_rng(7).integers(0, 256, n, dtype=np.uint8).tobytes()


# (file, corruption) -> the reason in torchvision's reader; every message names the file.
_BAD_IDX = {
    "truncated images": ("train-images-idx3-ubyte", lambda b: b[: len(b) // 2]),
    "header only": ("t10k-images-idx3-ubyte", lambda b: b[:16]),
    "empty labels": ("t10k-labels-idx1-ubyte", lambda b: b""),
    "random labels": ("train-labels-idx1-ubyte", lambda b: _garbage()),
    "labels as images": ("train-labels-idx1-ubyte", None),  # an images file in its place
}


@pytest.mark.parametrize("case", list(_BAD_IDX))
def test_a_corrupted_idx_file_is_named(tmp_path, rng, case):
    """torchvision's own IDX reader (no mock) on damaged files: a ValueError naming the
    file, not a bare AssertionError."""
    raw = _mnist(tmp_path, rng)
    name, corrupt = _BAD_IDX[case]
    path = raw / name
    if corrupt is None:
        path.write_bytes((raw / "train-images-idx3-ubyte").read_bytes())
    else:
        path.write_bytes(corrupt(path.read_bytes()))
    with pytest.raises(ValueError) as e:
        load_dataset(TrainConfig(dataset="mnist", data_root=str(tmp_path)))
    assert f"data set mnist under --data-root={tmp_path}: {path} is not a valid IDX file (" in \
        str(e.value)


def test_readable_files_with_wrong_contents_are_refused(tmp_path, rng):
    """Files torchvision reads without complaint, whose contents do not fit the data set:
    labels outside 0..9, or fewer labels than images."""
    raw = _mnist(tmp_path, rng)
    _idx(raw / "t10k-labels-idx1-ubyte", np.full(12, 200))
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte hold labels from 200 to 200, "
                                         r"outside 0..9"):
        load_dataset(TrainConfig(dataset="mnist", data_root=str(tmp_path)))
    _idx(raw / "t10k-labels-idx1-ubyte", rng.integers(0, 10, 11))
    with pytest.raises(ValueError, match=r"hold 12 images but \(11,\) labels"):
        load_dataset(TrainConfig(dataset="mnist", data_root=str(tmp_path)))


@pytest.mark.parametrize("case", ["truncated", "random", "not a dict", "no data", "short rows"])
def test_a_corrupted_cifar_pickle_is_named(tmp_path, rng, case):
    _cifar(tmp_path, rng, "cifar10")
    folder = tmp_path / "cifar-10-batches-py"
    path = folder / ("batches.meta" if case == "not a dict" else "data_batch_3")
    if case == "truncated":
        path.write_bytes(path.read_bytes()[:500])
    elif case == "random":
        path.write_bytes(_garbage())
    elif case == "not a dict":
        path.write_bytes(pickle.dumps(["airplane", "automobile"]))
    elif case == "no data":
        path.write_bytes(pickle.dumps({"labels": [0, 1]}))
    else:  # rows of 3000 values, not 3 x 32 x 32
        path.write_bytes(pickle.dumps({"data": _images(rng, 6, (3000,)), "labels": [0] * 6}))
    with pytest.raises(ValueError) as e:
        load_dataset(TrainConfig(dataset="cifar10", data_root=str(tmp_path),
                                 verify_checksums=False))
    assert f"{path} is not a valid CIFAR pickle (" in str(e.value)


@pytest.mark.parametrize("case", ["truncated", "random", "no X", "wrong shape"])
def test_a_corrupted_svhn_mat_file_is_named(tmp_path, rng, case):
    for split, n in (("train", 30), ("test", 10)):
        x = _images(rng, n, (32, 32, 3)).transpose(1, 2, 3, 0)
        y = rng.integers(1, 11, (n, 1))
        scipy.io.savemat(tmp_path / f"{split}_32x32.mat", {"X": x, "y": y})
    path = tmp_path / "test_32x32.mat"
    if case == "truncated":
        path.write_bytes(path.read_bytes()[:1000])
    elif case == "random":
        path.write_bytes(_garbage())
    elif case == "no X":
        scipy.io.savemat(path, {"Z": np.zeros(3), "y": np.ones((3, 1))})
    else:  # readable, but 28x28 images
        scipy.io.savemat(path, {"X": _images(rng, 5, (28, 28, 3)).transpose(1, 2, 3, 0),
                                "y": rng.integers(1, 11, (5, 1))})
    with pytest.raises(ValueError) as e:
        load_dataset(TrainConfig(dataset="svhn", data_root=str(tmp_path), verify_checksums=False))
    msg = str(e.value)
    assert str(path) in msg
    if case == "wrong shape":
        assert "hold images of shape (3, 28, 28), not (3, 32, 32)" in msg
    else:
        assert "is not a valid SVHN .mat file (" in msg


def test_the_command_refuses_a_corrupted_data_file(tmp_path, capsys, rng):
    """Through python -m deep.train: exit status 2, one line naming the file, and no run
    directory for a run that never started."""
    from deep import train

    raw = _mnist(tmp_path / "data", rng)
    bad = raw / "train-images-idx3-ubyte"
    bad.write_bytes(bad.read_bytes()[:-100])
    with pytest.raises(SystemExit) as e:
        train.main(["--dataset", "mnist", "--data-root", str(tmp_path / "data"), "--device",
                    "cpu", "--no-progress", "--out-dir", str(tmp_path / "out")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("python -m deep.train: error: data set mnist")
    assert f"{bad} is not a valid IDX file (" in err
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- downloads


@pytest.fixture
def no_network(monkeypatch):
    """A network stub: every URL torchvision opens fails as without a connection."""
    import urllib.error
    import urllib.request

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution (stub)")

    monkeypatch.setattr(urllib.request, "urlopen", offline)


@pytest.mark.parametrize("name", ["mnist", "cifar10", "svhn"])
def test_a_failed_download_says_so(tmp_path, no_network, name):
    """--download without a network: the message blames the download, not the files, and
    says where to place them instead."""
    with pytest.raises(ValueError) as e:
        load_dataset(TrainConfig(dataset=name, data_root=str(tmp_path), download=True))
    msg = str(e.value)
    assert msg.startswith(f"--download: downloading {name} into --data-root={tmp_path} failed (")
    assert "Temporary failure in name resolution" in msg and "md5" not in msg
    assert "expected a network connection; without one, place the files" in msg
    assert str(expected_files(name, tmp_path)[0].relative_to(tmp_path)) in msg


def test_download_is_not_needed_for_files_in_place(tmp_path, rng, no_network):
    """--download with the files already there reads them and touches no network."""
    _mnist(tmp_path, rng)
    data = load_dataset(TrainConfig(dataset="mnist", data_root=str(tmp_path), download=True,
                                    val_fraction=0.0))
    assert data.x_train.shape == (40, 1, 28, 28)
