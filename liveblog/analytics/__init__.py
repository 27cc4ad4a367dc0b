"""Editorial analytics: readers over time, visits without cookies, and each entry's reach."""
