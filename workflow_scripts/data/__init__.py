"""The faces: MTFL, synthetic faces, your own folder, the prepared face set, its split and labelled subsets."""
