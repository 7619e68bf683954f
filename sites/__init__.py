"""The site catalog: compute sites, their directories, file servers and profiles."""
