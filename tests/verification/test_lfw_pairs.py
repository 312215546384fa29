"""LFW from its own folder layout and the standard pairs protocol (pairs.txt), on small files made here."""

import json

import harness
import numpy as np
import pytest
from PIL import Image

from dlkit.errors import ConfigError, DatasetError
from dlkit.verification import find_pairs_file, load_identities, load_split, pair_indices, protocol_split, read_pairs

#: person -> image count; the first four only train, the last four are named by PAIRS.
PEOPLE = {"Ann_Lee": 5, "Bob_Ray": 4, "Cat_Fox": 4, "Dan_Oak": 4, "Eve_Moss": 3, "Fay_Lin": 2, "Gus_Tan": 1,
          "Hal_Vey": 2}
PAIRS = """2\t2
Eve_Moss\t1\t2
Fay_Lin\t1\t2
Eve_Moss\t1\tGus_Tan\t1
Hal_Vey\t2\tFay_Lin\t1
Eve_Moss\t2\t3
Hal_Vey\t1\t2
Gus_Tan\t1\tEve_Moss\t3
Fay_Lin\t2\tHal_Vey\t1
"""


def color(person, number):
    """A flat color that encodes the person (red) and the image number (green)."""
    return (30 * list(PEOPLE).index(person) + 20, 40 * number, 128)


@pytest.fixture(scope="module")
def lfw_home(tmp_path_factory):
    """scikit-learn's layout: lfw_home/pairs.txt beside lfw_home/lfw_funneled/<Name>/<Name>_0001.jpg."""
    home = tmp_path_factory.mktemp("lfw_home")
    folder = home / "lfw_funneled"
    for person, count in PEOPLE.items():
        (folder / person).mkdir(parents=True)
        for number in range(1, count + 1):
            Image.new("RGB", (40, 40), color(person, number)).save(folder / person / f"{person}_{number:04d}.jpg")
    (folder / "Ann_Lee" / "notes.txt").write_text("not an image")
    (folder / "README").write_text("not a person")
    (home / "pairs.txt").write_text(PAIRS)
    return home


def test_read_pairs_view_2_header_and_folds(lfw_home):
    protocol = read_pairs(lfw_home / "pairs.txt")
    assert len(protocol) == 8 and protocol.fold.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    assert protocol.same.tolist() == [True, True, False, False] * 2
    assert (protocol.first_names[2], protocol.first_numbers[2], protocol.second_names[2], protocol.second_numbers[2]) \
        == ("Eve_Moss", 1, "Gus_Tan", 1)
    assert protocol.second_names[4] == "Eve_Moss" and protocol.second_numbers[4] == 3
    assert protocol.names == ["Eve_Moss", "Fay_Lin", "Gus_Tan", "Hal_Vey"]
    assert protocol.source == str(lfw_home / "pairs.txt")


def test_read_pairs_view_1_and_format_errors(tmp_path):
    dev = tmp_path / "pairsDevTest.txt"
    dev.write_text("1\nAnn_Lee 1 2\nAnn_Lee 1 Bob_Ray 3\n")
    protocol = read_pairs(dev)
    assert protocol.same.tolist() == [True, False] and protocol.fold.tolist() == [0, 0]
    bad = tmp_path / "bad.txt"
    bad.write_text("1 2\nAnn_Lee 1 2\nAnn_Lee 1 Bob_Ray 3\nAnn_Lee 1 2\nAnn_Lee 1 Bob_Ray 3\n")
    with pytest.raises(DatasetError, match=r"bad.txt:3: expected a matched 'name n1 n2' pair"):
        read_pairs(bad)
    bad.write_text("10 300\nAnn_Lee 1 2\n")
    with pytest.raises(DatasetError, match="promises 10 x \\(2 x 300\\) = 6000 pairs. Received: 1 pair lines"):
        read_pairs(bad)
    bad.write_text("pairs\n")
    with pytest.raises(DatasetError, match=":1: the header"):
        read_pairs(bad)


def test_the_folder_keeps_names_and_image_numbers(lfw_home):
    identities = load_identities("lfw", data_dir=str(lfw_home), image_size=8, min_images=1)
    assert identities.names == sorted(PEOPLE) and len(identities) == sum(PEOPLE.values())
    assert identities.images.shape[1:] == (8, 8, 3)
    for image, label, number in zip(identities.images, identities.labels, identities.numbers):
        expected = np.asarray(color(identities.names[label], number)) / 255.0
        np.testing.assert_allclose(image.mean(axis=(0, 1)), expected, atol=0.03)
    # min_images filters as for TFDS, and subsets carry the numbers.
    trained = load_identities("lfw", data_dir=str(lfw_home / "lfw_funneled"), image_size=8, min_images=4)
    assert [trained.names[i] for i in trained.identities] == ["Ann_Lee", "Bob_Ray", "Cat_Fox", "Dan_Oak"]
    assert len(trained.numbers) == len(trained) == 17


def test_pairs_map_to_the_named_images_and_unseen_people(lfw_home):
    identities = load_identities("lfw", data_dir=str(lfw_home), image_size=8, min_images=1)
    protocol = read_pairs(lfw_home / "pairs.txt")
    seen, unseen = protocol_split(identities, protocol, min_images=4)
    assert sorted(seen.names[i] for i in seen.identities) == ["Ann_Lee", "Bob_Ray", "Cat_Fox", "Dan_Oak"]
    assert sorted(unseen.names[i] for i in unseen.identities) == protocol.names
    assert len(unseen) == 8  # every image of the named people, Gus_Tan's only one too
    first, second, same, fold = pair_indices(unseen, protocol)
    for side, names, numbers in ((first, protocol.first_names, protocol.first_numbers),
                                 (second, protocol.second_names, protocol.second_numbers)):
        assert [unseen.names[unseen.labels[i]] for i in side] == names.tolist()
        assert unseen.numbers[side].tolist() == numbers.tolist()
    assert same.tolist() == protocol.same.tolist() and fold.tolist() == protocol.fold.tolist()
    with pytest.raises(DatasetError, match="Received: missing Eve_Moss_0001"):
        pair_indices(seen, protocol)
    with pytest.raises(DatasetError, match="people of the pairs file are not in the LFW folder"):
        protocol_split(seen, protocol)
    with pytest.raises(ConfigError, match="needs image numbers"):
        pair_indices(load_identities("digits"), protocol)


def test_recipe_evaluates_on_the_pairs_file_folds(lfw_home, tmp_path, capsys):
    import face_verification

    argv = ["--data", "lfw", "--data-dir", str(lfw_home), "--quick", "--epochs", "1", "--steps-per-epoch", "2",
            "--image-size", "16", "--identities-per-batch", "3", "--images-per-identity", "2", "--siamese", "--augment",
            "--out", str(tmp_path)]
    metrics = face_verification.main(argv)
    assert metrics["pairs"] == 8 and metrics["pairs_protocol"] == "pairs.txt: 2 folds"
    assert metrics["training_identities"] == 4 and metrics["unseen_identities"] == 4
    assert 0 <= metrics["verification_accuracy"] <= 1 and 0 <= metrics["siamese_verification_accuracy"] <= 1
    assert json.loads((tmp_path / "metrics.json").read_text()) == metrics
    harness.assert_user_error(capsys, face_verification, ["--pairs", lfw_home / "pairs.txt", "--out", tmp_path / "x"])
    harness.assert_user_error(capsys, face_verification,
                              ["--data", "lfw", "--pairs", tmp_path / "nope.txt", "--out", tmp_path / "y"])


def test_find_pairs_file_and_load_split(lfw_home):
    assert find_pairs_file(lfw_home) == str(lfw_home / "pairs.txt")
    assert find_pairs_file(lfw_home / "lfw_funneled") is None and find_pairs_file(None) is None
    seen, unseen, protocol = load_split("lfw", 2, data_dir=lfw_home, image_size=16, pairs=find_pairs_file(lfw_home))
    assert protocol.names == [unseen.names[identity] for identity in unseen.identities]
    assert seen.images.shape[1:] == (16, 16, 3) and not set(seen.identities) & set(unseen.identities)
