"""Dataset generation helpers (Petastorm's petastorm.etl)."""
