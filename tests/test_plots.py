from workflow_scripts.plots import part_colors


def test_energy_parts_keep_their_colour_across_panels_and_differ_within_one():
    # two hardware panels of 8 parts with 5 in common: 11 parts, more than the palette's 10
    eyeriss = ["mac", "dram", "rf_16B", "rf_64B_A", "rf_64B_W", "sram_1M", "sram_64KB", "sram_8KB"]
    tpu = ["mac", "dram", "rf_16B", "rf_64B_A", "rf_64B_W", "rf_128B", "rf_2B", "sram_2MB"]
    colors = part_colors([eyeriss, tpu])
    assert set(colors) == set(eyeriss) | set(tpu)
    for panel in (eyeriss, tpu):
        assert len({colors[part] for part in panel}) == len(panel), panel


def test_pretraining_curves_draw_the_training_and_the_early_stopping_loss(tmp_path):
    import pandas as pd

    from workflow_scripts.plots import training_curves

    curve = pd.DataFrame({"epoch": [1, 2, 3], "train_loss": [1.0, 0.5, 0.4], "stop_loss": [1.1, 0.7, 0.8],
                          "stop_criterion": [1.1, 0.7, 0.8]})
    png, pdf = tmp_path / "curves.png", tmp_path / "curves.pdf"
    training_curves({("cae", 0): curve, ("cnn_smile", 0): curve, ("cnn_smile", 1): curve}, png, pdf)
    assert png.stat().st_size > 0 and pdf.stat().st_size > 0
