"""SR search spaces: DLSR and IMDN (supernets, children from genotypes, cost tables)."""
