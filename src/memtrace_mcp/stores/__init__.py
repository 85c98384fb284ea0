"""Storage backends. Importing this package loads none of them."""
