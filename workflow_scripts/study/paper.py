"""What the paper reports, quoted for the side-by-side tables (not computed here).

Source: "Convolutional Autoencoder-Based Transfer Learning for Multi-Task Image
Inferences", IEEE Transactions on Emerging Topics in Computing 10(2), 2022: the accuracy
gain of the CAE's conv layers plus fc1, transferred frozen, over no transfer with the
fewest labels, and the energy reduction of the whole four-task inference.
"""

CITATION = "IEEE TETC 10(2), 2022"
ACCURACY_GAIN_POINTS = {"gender": 1.98, "smile": 1.88, "glasses": 4.11, "pose": 1.47}
ENERGY_REDUCTION = 6.58
