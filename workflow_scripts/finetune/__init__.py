"""The grid's classifiers: one block of the grid, and the paper's endpoint."""
