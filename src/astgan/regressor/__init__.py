"""The AST regressor of (valence, arousal): the model (``model``), its training (``train``), running a
trained model (``inference``) and predicting new audio files (``predict``)."""
