"""Exercise definitions, one module per lesson; each module calls `register`."""
