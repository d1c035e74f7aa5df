"""HTTP handlers of the bookstore."""
