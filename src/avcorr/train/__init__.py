"""Training: the Lightning module (the task) and data module."""
