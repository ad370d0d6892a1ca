"""Network building blocks shared across layers (torch only): the visual frontend of student and teacher."""
