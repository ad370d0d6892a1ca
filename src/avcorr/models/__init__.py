"""Models: the student detector's encoders, attention blocks and heads."""
