"""The networks, layer transfer, classification metrics, and the plain and stacked trainers."""
