"""Algorithm registry (filled as algorithms are added)."""


def all_algorithms():
    return []
