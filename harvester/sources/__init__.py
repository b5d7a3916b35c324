"""Sources: each module fetches from one kind of source and yields normalised Hits."""
