"""The one definition of the seven FER2013 classes, in the dataset's own order."""

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
NUM_CLASSES = len(EMOTIONS)

# One colour per label (BGR, as OpenCV draws) for the overlay, the live view and the report's plots;
# a label outside FER2013's seven gets OTHER_COLOUR.
COLOURS: dict[str, tuple[int, int, int]] = {
    "angry": (40, 40, 230), "disgust": (40, 140, 40), "fear": (160, 60, 160), "happy": (40, 200, 250),
    "sad": (200, 120, 40), "surprise": (230, 200, 40), "neutral": (200, 200, 200),
}
OTHER_COLOUR = (80, 220, 80)


def label_colour(name: str) -> tuple[int, int, int]:
    """The BGR colour `name` is drawn in."""
    return COLOURS.get(name, OTHER_COLOUR)


def label_index(name: str) -> int:
    """Index of a class given by name (any case) or by its FER2013 number; ValueError otherwise."""
    key = name.strip().lower()
    if key.isdigit() and int(key) < NUM_CLASSES:
        return int(key)
    try:
        return EMOTIONS.index(key)
    except ValueError:
        raise ValueError(f"unknown emotion label {name!r}") from None
