"""FER2013 readers, cache and sampling (numpy only, shared by host and device)."""
