"""The data layer, which knows nothing of models: DEAM and the demo dataset, audio and log-mel
features, splits, the extract stage, datasets, augmentation and the segment descriptors several
stages compare sets of segments by."""
