"""nnlib: the reference implementation of the course, in the notation of the slides."""
