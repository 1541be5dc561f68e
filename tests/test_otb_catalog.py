"""The OTB-2015 catalog: all 100 sequences, their quirks, OTB-30 and the face-ground-truth videos."""

from __future__ import annotations

import pytest
import yaml

from conftest import REPO
from rolo.errors import RoloInputError
from rolo.data.otb import ATTRIBUTES, expand_names, find_entry, load_catalog, video_attributes

CATALOG = load_catalog()


def test_hundred_sequences_in_ninety_eight_folders():
    assert len(CATALOG) == 100
    assert len({e.folder for e in CATALOG.values()}) == 98
    assert all(set(e.attributes) <= set(ATTRIBUTES) and e.attributes for e in CATALOG.values())


@pytest.mark.parametrize(
    "name, first, last",
    [("David", 300, 770), ("Football1", 1, 74), ("Freeman3", 1, 460), ("Freeman4", 1, 283), ("Diving", 1, 215),
     ("BlurCar1", 247, 988), ("BlurCar3", 3, 359), ("BlurCar4", 18, 397), ("Tiger1", 1, 354), ("Doll", 1, 3872)],
)
def test_frame_ranges(name, first, last):
    e = CATALOG[name]
    assert (e.first_frame, e.last_frame) == (first, last)


def test_tiger1_init_omit_by_protocol():
    tiger = CATALOG["Tiger1"]
    assert tiger.frame_range("official") == (6, 354) and tiger.skipped("official") == 5
    assert tiger.frame_range("got10k") == (1, 354) and tiger.skipped("got10k") == 0
    assert [e.name for e in CATALOG.values() if e.init_omit] == ["Tiger1"]
    with pytest.raises(RoloInputError, match="unknown protocol 'vot'"):
        tiger.frame_range("vot")


def test_two_target_videos_share_a_folder():
    for folder, names in (("Jogging", ["Jogging.1", "Jogging.2"]), ("Skating2", ["Skating2.1", "Skating2.2"])):
        es = [CATALOG[n] for n in names]
        assert {e.folder for e in es} == {folder}
        assert [e.gt_file for e in es] == ["groundtruth_rect.1.txt", "groundtruth_rect.2.txt"]
    assert CATALOG["Human4.2"].folder == "Human4" and CATALOG["Human4.2"].gt_file == "groundtruth_rect.2.txt"


def test_otb30_is_the_configs_thirty_videos():
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    otb30 = config["experiments"]["exp2"]["videos"]
    assert sorted(find_entry(v).name for v in otb30) == sorted(e.name for e in CATALOG.values() if e.otb30)
    assert len(expand_names(["OTB30"])) == 30 and len(expand_names(["otb100"])) == 100


def test_face_ground_truth_videos():
    assert expand_names(["face"]) == ["Boy", "Jumping", "Surfer"]


def test_attributes_from_the_benchmark_configs():
    assert CATALOG["Tiger1"].attributes == ("IV", "OCC", "DEF", "MB", "FM", "IPR", "OPR")
    assert CATALOG["Ironman"].attributes == ("IV", "SV", "OCC", "MB", "FM", "IPR", "OPR", "OV", "BC")
    assert video_attributes("SUV") == ["OCC", "IPR", "OV"] and video_attributes("NotOTB") == []


def test_aliases_and_unknown_names():
    assert find_entry("SUV").name == "Suv"
    assert find_entry("Human4").name == "Human4.2"  # got10k's name (its only non-empty ground truth)
    assert find_entry("Jogging_2").name == "Jogging.2" and find_entry("Skating2-1").name == "Skating2.1"
    with pytest.raises(RoloInputError, match=r"'Davd' is not an OTB-2015 sequence .*did you mean David"):
        find_entry("Davd")


def test_same_folders_as_got10k():
    """got10k's OTB-2015 list (an independent source) names the same 98 folders."""
    otb = pytest.importorskip("got10k.datasets.otb")
    assert sorted(otb.OTB._OTB__otb15_seqs) == sorted({e.folder for e in CATALOG.values()})
