"""The one definition of the seven FER2013 classes, in the dataset's own order."""

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES = len(EMOTIONS)


def label_index(name: str) -> int:
    """Index of a class given by name (any case) or by its FER2013 number; ValueError otherwise."""
    key = name.strip().lower()
    if key.isdigit() and int(key) < NUM_CLASSES:
        return int(key)
    try:
        return EMOTIONS.index(key)
    except ValueError:
        raise ValueError(f"unknown emotion label {name!r}") from None
