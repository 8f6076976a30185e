"""What a run writes and shows: files.py (Outputs: every file of a run, committed together), text.py
(JSON lines, CSV), video.py (the annotated video or picture), draw.py (the overlay), window.py (the Tk
window)."""
