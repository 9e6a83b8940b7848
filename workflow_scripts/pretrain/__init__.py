"""The source networks: the CAE and each task's CNN trained on the unlabelled pool, the random trunk scaled on it."""
