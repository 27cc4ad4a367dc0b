"""HTTP plumbing every answer passes through: caching, compression, security, assets, limits."""
