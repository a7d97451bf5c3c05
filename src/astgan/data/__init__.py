"""The data layer, which knows nothing of models: DEAM and the demo dataset, audio and log-mel
features, splits, the extract stage, datasets and augmentation."""
