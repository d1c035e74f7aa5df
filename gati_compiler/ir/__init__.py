"""The compiler's intermediate representation: GTypes and the program model."""
