"""fer_edge.convert: trained .keras models -> .tflite (int8, float16, dynamic, float32) with metadata.

converter    convert_keras(): SavedModel traced at batch 1 -> TFLiteConverter -> file + .meta.json
pipeline     run_convert(): what `fer-edge convert` does (checks, staging, report, files moved in)
report       build_report() / format_report(): sizes, float vs converted accuracy, agreement, latency
keras_model  loading and checking the .keras file; batch: batch-free Flatten/Reshape for the trace
tflite_info  what a .tflite really holds (quantisation, integer-only check); latency: per-face timing
"""
