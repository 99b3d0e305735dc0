"""Command-line tools (Petastorm's petastorm.tools): copying datasets, Spark session options,
progress bars."""
