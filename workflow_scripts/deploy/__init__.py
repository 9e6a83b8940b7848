"""What a classifier costs deployed: int8 quantisation, inference energy, compute of learning."""
