"""Teachers: frozen models that say, frame by frame, what is heard and what the lips show."""
