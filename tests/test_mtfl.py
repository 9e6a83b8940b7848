import pytest
import torch

from conftest import REAL_MTFL, _face_jpeg, landmarks_line, real_mtfl_or_skip, write_mtfl_folder, zip_folder
from workflow_scripts.data.mtfl import MTFLError, landmark_box, parse_line, read_mtfl


def test_parse_line_handles_backslash_leading_space_and_crlf():
    record = parse_line(landmarks_line("lfw_5590\\Aaron_0001.jpg", (2, 1, 2, 5)), "training.txt:7")
    assert record.path == "lfw_5590/Aaron_0001.jpg"
    assert record.labels == (1, 0, 1, 4)  # raw - 1
    assert record.landmarks[0] == 25.5 and record.landmarks[5] == 20.0


def test_parse_line_blank_is_none():
    assert parse_line(" \r\n", "x:1") is None


@pytest.mark.parametrize(
    "line, message",
    [
        (" a.jpg 1 2 3\r\n", "expected 15 fields"),
        (landmarks_line("a.jpg", (1, 1, 1, 1)).replace("25.5", "2x5"), "landmark is not a number"),
        (landmarks_line("a.jpg", (3, 1, 1, 1)), "gender label '3'"),
        (landmarks_line("a.jpg", (1, 1, 1, 6)), "pose label '6'"),
        (landmarks_line("a.jpg", (1, 0, 1, 1)), "smile label '0'"),
        (landmarks_line("a.jpg", (1, 1, 1.5, 1)), "glasses label '1.5'"),
    ],
)
def test_parse_line_rejects_malformed_lines_naming_file_and_line(line, message):
    with pytest.raises(MTFLError, match=rf"^training.txt:12: .*{message}"):
        parse_line(line, "training.txt:12")


def _expected_table_rows():
    return [
        ("train", "lfw_5590/Aaron_0001.jpg", 0, 1, 1, 2),
        ("train", "lfw_5590/Abel_0001.jpg", 1, 0, 0, 0),
        ("train", "net_7876/net_0001.jpg", 0, 0, 1, 4),
        ("test", "AFLW/0001-image1.jpg", 1, 1, 0, 3),
        ("test", "AFLW/0002-image2.jpg", 0, 0, 1, 1),
    ]


@pytest.mark.parametrize("kind", ["zip", "folder"])
def test_read_mtfl_zip_and_folder(kind, mtfl_zip, mtfl_folder):
    faces, skipped = read_mtfl(mtfl_zip if kind == "zip" else mtfl_folder, image_size=12, crop_margin=0.6)
    rows = [tuple(r) for r in faces.table[["split", "path", "gender", "smile", "glasses", "pose"]].itertuples(index=False)]
    assert rows == _expected_table_rows()
    assert faces.images.shape == (5, 1, 12, 12) and faces.images.dtype == torch.uint8
    assert skipped.empty
    # the crop is centred on the bright square: the middle is brighter than a corner
    assert (faces.images[:, 0, 6, 6].int() > faces.images[:, 0, 0, 0].int()).all()


def test_zip_and_folder_give_identical_images(mtfl_zip, mtfl_folder):
    a, _ = read_mtfl(mtfl_zip, 12, 0.6)
    b, _ = read_mtfl(mtfl_folder, 12, 0.6)
    assert torch.equal(a.images, b.images)


def test_malformed_line_in_archive_names_file_and_line(tmp_path):
    folder = write_mtfl_folder(tmp_path, training_lines=[
        landmarks_line("lfw_5590\\Aaron_0001.jpg", (1, 2, 2, 3)),
        landmarks_line("lfw_5590\\Abel_0001.jpg", (1, 2, 2, 9)),
    ])
    with pytest.raises(MTFLError, match=r"MTFL/training.txt:2: pose label '9'"):
        read_mtfl(folder, 12, 0.6)


def test_missing_image_is_an_error_naming_the_line(tmp_path):
    folder = write_mtfl_folder(tmp_path / "unpacked", training_lines=[
        landmarks_line("lfw_5590\\Aaron_0001.jpg", (1, 2, 2, 3)),
        landmarks_line("lfw_5590\\Nobody_0001.jpg", (1, 2, 2, 3)),
    ])
    with pytest.raises(MTFLError, match=r"training.txt:2: image lfw_5590/Nobody_0001.jpg not found"):
        read_mtfl(zip_folder(folder, tmp_path / "m.zip"), 12, 0.6)


def test_undecodable_image_is_an_error_naming_the_line(tmp_path):
    folder = write_mtfl_folder(tmp_path)
    (folder / "MTFL" / "AFLW" / "0002-image2.jpg").write_bytes(b"not a jpeg at all")
    with pytest.raises(MTFLError, match=r"testing.txt:2: image AFLW/0002-image2.jpg cannot be decoded"):
        read_mtfl(folder, 12, 0.6)


def test_skip_bad_records_lists_what_it_skipped(tmp_path):
    folder = write_mtfl_folder(tmp_path, training_lines=[
        landmarks_line("lfw_5590\\Aaron_0001.jpg", (1, 2, 2, 3)),
        " broken line\r\n",
        landmarks_line("lfw_5590\\Nobody_0001.jpg", (1, 2, 2, 3)),
    ])
    faces, skipped = read_mtfl(folder, 12, 0.6, skip_bad_records=True)
    assert list(faces.table["path"]) == ["lfw_5590/Aaron_0001.jpg", "AFLW/0001-image1.jpg", "AFLW/0002-image2.jpg"]
    assert len(skipped) == 2
    assert skipped["where"].str.endswith("training.txt:2").iloc[0]
    assert "not found" in skipped["reason"].iloc[1]


def test_missing_archive_is_a_clear_error(tmp_path):
    with pytest.raises(MTFLError, match="MTFL archive or folder not found"):
        read_mtfl(tmp_path / "nowhere.zip", 12, 0.6)


def test_archive_without_annotations_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "x.jpg").write_bytes(_face_jpeg())
    with pytest.raises(MTFLError, match="no training.txt inside"):
        read_mtfl(zip_folder(tmp_path / "empty", tmp_path / "e.zip"), 12, 0.6)


def test_landmark_box_is_square_and_centred():
    top, left, side = landmark_box((10, 30, 20, 12, 28, 10, 10, 20, 30, 30), margin=0.5)
    assert side == 40  # extent 20 * (1 + 2 * 0.5)
    assert (left + side / 2, top + side / 2) == (20, 20)


@pytest.mark.skipif(not REAL_MTFL.exists(), reason=f"the real MTFL archive is not at {REAL_MTFL}")
def test_real_archive_counts_and_label_balance():
    faces, skipped = read_mtfl(real_mtfl_or_skip(), image_size=32, crop_margin=0.6, threads=2)
    assert skipped.empty
    counts = faces.table["split"].value_counts()
    assert counts["train"] == 10000 and counts["test"] == 2995
    train = faces.table[faces.table["split"] == "train"]
    test = faces.table[faces.table["split"] == "test"]
    # the label balance counted from the archive's MTFL/training.txt and MTFL/testing.txt
    assert train["gender"].value_counts().sort_index().tolist() == [5807, 4193]
    assert train["smile"].value_counts().sort_index().tolist() == [5616, 4384]
    assert train["glasses"].value_counts().sort_index().tolist() == [1408, 8592]
    assert train["pose"].value_counts().sort_index().tolist() == [136, 1113, 7445, 1111, 195]
    assert test["gender"].value_counts().sort_index().tolist() == [1173, 1822]
    assert test["pose"].value_counts().sort_index().tolist() == [193, 450, 1825, 401, 126]
    assert faces.images.shape == (12995, 1, 32, 32)


def _damage_member(archive, member_bytes):
    """Flip a byte in the middle of a stored member's data: its CRC-32 no longer matches."""
    data = bytearray(archive.read_bytes())
    at = data.find(member_bytes) + len(member_bytes) // 2
    data[at] ^= 0xFF
    archive.write_bytes(bytes(data))


def test_a_damaged_image_in_the_zip_names_archive_member_and_advice_and_skip_bad_records_skips_it(mtfl_zip):
    _damage_member(mtfl_zip, _face_jpeg((100, 80)))  # AFLW/0001-image1.jpg, line 1 of testing.txt
    with pytest.raises(MTFLError) as raised:
        read_mtfl(mtfl_zip, image_size=12, crop_margin=0.6)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"{mtfl_zip}/MTFL/testing.txt:1: {mtfl_zip}: member MTFL/AFLW/0001-image1.jpg is damaged (Bad CRC-32"), message
    assert "download the archive again, or set mtfl.skip_bad_records: true" in message
    faces, skipped = read_mtfl(mtfl_zip, image_size=12, crop_margin=0.6, skip_bad_records=True)
    assert list(faces.table["path"]) == [row[1] for row in _expected_table_rows() if row[1] != "AFLW/0001-image1.jpg"]
    assert list(skipped["path"]) == ["AFLW/0001-image1.jpg"] and "is damaged" in skipped["reason"].iloc[0]


def test_a_truncated_archive_says_download_it_again(mtfl_zip):
    mtfl_zip.write_bytes(mtfl_zip.read_bytes()[: mtfl_zip.stat().st_size // 2])
    with pytest.raises(MTFLError, match=r"MTFL\.zip: not a zip archive nor a folder \(a download cut short\?\); download it again"):
        read_mtfl(mtfl_zip, image_size=12, crop_margin=0.6)
