"""The study's vocabulary and config (datasets and their tasks, depths, scenarios, grid, protocol); torch-free."""
