"""Offline loaders on small files the tests write, and on ../shared/data when present."""

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from sklearn_keras_hpo.data.datasets import (
    load_csv,
    load_digits_images,
    load_idx,
    load_image_folder,
    load_mnist,
    load_npz,
    load_source,
)

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def _idx_bytes(array):
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def _write_mnist(directory, n=5, gz=True):
    images = np.arange(n * 4 * 4, dtype=np.uint8).reshape(n, 4, 4)
    labels = np.arange(n, dtype=np.uint8) % 3
    for stem, array in (("train-images-idx3-ubyte", images), ("train-labels-idx1-ubyte", labels)):
        data = _idx_bytes(array)
        (directory / (stem + ".gz" if gz else stem)).write_bytes(
            gzip.compress(data) if gz else data
        )
    return images, labels


def test_digits_images():
    X, y = load_digits_images()
    assert X.shape == (1797, 8, 8) and X.dtype == np.float32 and 0 <= X.min() and X.max() <= 1
    assert set(y) == set(range(10))


@pytest.mark.parametrize("gz", [True, False])
def test_load_mnist_round_trip(tmp_path, gz):
    images, labels = _write_mnist(tmp_path, gz=gz)
    X, y = load_mnist(tmp_path)
    np.testing.assert_array_equal(X, images)
    np.testing.assert_array_equal(y, labels)


def test_truncated_idx_is_named(tmp_path):
    path = tmp_path / "images.idx"
    path.write_bytes(_idx_bytes(np.zeros((3, 4, 4)))[:-5])
    with pytest.raises(ValueError, match="images.idx.*truncated or corrupt"):
        load_idx(path)


def test_corrupt_gzip_and_bad_magic_are_named(tmp_path):
    (tmp_path / "a.gz").write_bytes(gzip.compress(b"x" * 100)[:20])
    with pytest.raises(ValueError, match="a.gz cannot be read"):
        load_idx(tmp_path / "a.gz")
    (tmp_path / "b").write_bytes(b"\x12\x34\x56\x78")
    with pytest.raises(ValueError, match="not an IDX file"):
        load_idx(tmp_path / "b")


def test_missing_and_inconsistent_mnist(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_mnist(tmp_path / "nope")
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path)
    _write_mnist(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx_bytes(np.zeros(4))))
    with pytest.raises(ValueError, match="do not match"):
        load_mnist(tmp_path)


def test_npz_keys_and_mismatch(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 3, 3)), y=np.arange(4))
    X, y = load_npz(tmp_path / "d.npz")
    assert X.shape == (4, 3, 3) and list(y) == [0, 1, 2, 3]
    np.savez(tmp_path / "e.npz", images=np.zeros((4, 3, 3)), labels=np.arange(3))
    with pytest.raises(ValueError, match="4 images but 'labels' has 3 labels"):
        load_npz(tmp_path / "e.npz")
    np.savez(tmp_path / "f.npz", foo=np.zeros(3))
    with pytest.raises(ValueError, match="pass x_key= and y_key="):
        load_npz(tmp_path / "f.npz")


def test_csv_with_header_and_errors(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("label," + ",".join(f"p{i}" for i in range(4)) + "\n1,0,1,2,3\n0,4,5,6,7\n")
    X, y = load_csv(path)
    assert X.shape == (2, 2, 2) and list(y) == [1, 0]
    assert X[1, 1, 1] == 7
    with pytest.raises(ValueError, match="needs 9 pixel columns"):
        load_csv(path, image_shape=(3, 3))
    path.write_text("1,0,1,2\n")
    with pytest.raises(ValueError, match="not a square image"):
        load_csv(path)
    path.write_text("1,0,1,2,3\n1,0,1\n")
    with pytest.raises(ValueError, match="different numbers of columns"):
        load_csv(path)


def test_image_folder(tmp_path):
    from PIL import Image

    for label, value in (("cat", 10), ("dog", 200)):
        (tmp_path / label).mkdir()
        for i in range(2):
            Image.fromarray(np.full((6, 5), value, np.uint8)).save(tmp_path / label / f"{i}.png")
    X, y = load_image_folder(tmp_path, image_size=(4, 3))
    assert X.shape == (4, 4, 3) and list(y) == ["cat", "cat", "dog", "dog"]
    assert X[0].max() == 10 and X[-1].min() == 200
    X_rgb, _ = load_image_folder(tmp_path, image_size=(4, 3), color_mode="rgb")
    assert X_rgb.shape == (4, 4, 3, 3)
    (tmp_path / "dog" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="broken.png is not a readable image"):
        load_image_folder(tmp_path, image_size=(4, 3))


def _class_folders(root, size=(6, 5)):
    from PIL import Image

    for label, value in (("dog", 200), ("cat", 10)):
        (root / label).mkdir()
        for name in ("b.png", "a.png"):
            Image.fromarray(np.full(size, value, np.uint8)).save(root / label / name)


def test_lazy_image_folder_lists_sorted_paths_without_decoding(tmp_path):
    _class_folders(tmp_path)
    (tmp_path / "dog" / "c_broken.png").write_bytes(b"not a png")  # decoding would raise
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    paths, y = load_image_folder(tmp_path, lazy=True)
    assert paths.ndim == 1 and paths.dtype.kind == "U"
    assert [Path(p).relative_to(tmp_path).as_posix() for p in paths] == [
        "cat/a.png",
        "cat/b.png",
        "dog/a.png",
        "dog/b.png",
        "dog/c_broken.png",
    ]
    assert list(y) == ["cat", "cat", "dog", "dog", "dog"]
    with pytest.raises(ValueError, match="c_broken.png is not a readable image"):
        load_image_folder(tmp_path)  # eager: the same files, decoded


def test_npz_without_labels_and_named_keys(tmp_path):
    np.savez(tmp_path / "u.npz", pixels=np.ones((3, 4, 4)))
    with pytest.raises(ValueError, match=r"pass x_key= and y_key=.*--x-key and --y-key"):
        load_npz(tmp_path / "u.npz")
    X, y = load_npz(tmp_path / "u.npz", x_key="pixels", require_labels=False)
    assert X.shape == (3, 4, 4) and y is None
    np.savez(tmp_path / "k.npz", arr_0=np.ones((3, 4, 4)))  # e.g. KMNIST's files
    assert load_npz(tmp_path / "k.npz", require_labels=False)[1] is None
    with pytest.raises(ValueError, match="y_key='target' is not one of them"):
        load_npz(tmp_path / "k.npz", y_key="target", require_labels=False)


@pytest.mark.parametrize(
    "text, labels",
    [
        ("p0,p1,p2,p3\n0,1,2,3\n4,5,6,7\n", None),  # a header without a label column
        ("0,1,2,3\n4,5,6,7\n", None),  # as many columns as a square image's pixels
        ("label,p0,p1,p2,p3\n1,0,1,2,3\n0,4,5,6,7\n", [1, 0]),
        ("1,0,1,2,3\n0,4,5,6,7\n", [1, 0]),
    ],
)
def test_csv_to_predict_may_have_no_label_column(tmp_path, text, labels):
    (tmp_path / "d.csv").write_text(text)
    X, y = load_source(str(tmp_path / "d.csv"), require_labels=False)
    assert X.shape == (2, 2, 2) and X[1, 1, 1] == 7
    assert (y is None) if labels is None else list(y) == labels


def test_folder_of_images_without_classes_is_unlabelled(tmp_path):
    from PIL import Image

    for i in range(3):
        Image.fromarray(np.full((6, 5), 50 * i, np.uint8)).save(tmp_path / f"{i}.png")
    X, y = load_source(str(tmp_path), image_size=(4, 3), require_labels=False)
    assert X.shape == (3, 4, 3) and y is None and X[2].min() == 100
    with pytest.raises(ValueError, match="no class subfolders"):
        load_source(str(tmp_path), image_size=(4, 3))  # labels required: the error of today


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_shared_mnist_files(name):
    directory = SHARED / name
    if not directory.exists():
        pytest.skip(f"{directory} not present")
    X, y = load_mnist(directory, "test")
    assert X.shape == (10000, 28, 28) and X.dtype == np.uint8
    assert np.bincount(y).min() > 800  # ten balanced classes


def test_image_folder_reads_the_files_own_size_and_colour_by_default(tmp_path):
    """A CIFAR-10-like folder of 32x32 RGB JPEGs reads as (n, 32, 32, 3), not 28x28 grayscale;
    image_size= and color_mode= still change it."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for label in ("cat", "ship"):
        (tmp_path / label).mkdir()
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(
                tmp_path / label / f"{i}.jpg"
            )
    X, y = load_image_folder(tmp_path)
    assert (
        X.shape == (6, 32, 32, 3) and X.dtype == np.uint8 and list(y) == ["cat"] * 3 + ["ship"] * 3
    )
    assert load_image_folder(tmp_path, image_size=(16, 8), color_mode="grayscale")[0].shape == (
        6,
        16,
        8,
    )
