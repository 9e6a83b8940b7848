from workflow_scripts.plots import part_colors


def test_energy_parts_keep_their_colour_across_panels_and_differ_within_one():
    # two hardware panels of 8 parts with 5 in common: 11 parts, more than the palette's 10
    eyeriss = ["mac", "dram", "rf_16B", "rf_64B_A", "rf_64B_W", "sram_1M", "sram_64KB", "sram_8KB"]
    tpu = ["mac", "dram", "rf_16B", "rf_64B_A", "rf_64B_W", "rf_128B", "rf_2B", "sram_2MB"]
    colors = part_colors([eyeriss, tpu])
    assert set(colors) == set(eyeriss) | set(tpu)
    for panel in (eyeriss, tpu):
        assert len({colors[part] for part in panel}) == len(panel), panel
