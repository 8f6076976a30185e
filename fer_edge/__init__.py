"""fer-edge: facial-expression recognition from host training to int8 inference on the edge."""

__version__ = "0.1.0"
