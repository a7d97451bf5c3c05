"""The synthesize stage: conditions, generation, the judge, the quality report and its real reference sets."""
