"""fer_edge.edge: the device-side runtime (`fer-edge run`). Never imports TensorFlow or Keras.

sources (camera, video, stream, images) -> detector (YuNet on OpenCV, or BlazeFace on LiteRT) -> fer_edge.faces crop
-> classifier (LiteRT) -> tracker (IoU + EMA) -> draw / outputs / display; pipeline wires one
frame through, runner loops over a source, commands holds the click command.
"""
