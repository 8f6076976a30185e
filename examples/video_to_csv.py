"""A video to a CSV of every face in every frame, and a plot of each face's expressions over time.

    pip install ".[analysis]"                 # in the checkout: pandas and matplotlib
    python examples/video_to_csv.py clip.mp4  # writes clip.faces.csv and clip.timeline.png
"""

import argparse
from pathlib import Path

import fer_edge

parser = argparse.ArgumentParser(description="video to CSV and timeline plot")
parser.add_argument("video")
parser.add_argument("--out", type=Path, help="folder for the results (default: beside the video)")
args = parser.parse_args()

video = Path(args.video)
out = args.out or video.parent
df = fer_edge.analyze(video)  # one row per face per frame: frame, time, track, box, label, 7 scores
df.to_csv(out / f"{video.stem}.faces.csv", index=False)
fer_edge.plot_timeline(df, out / f"{video.stem}.timeline.png")

print(df.groupby("track")["label"].agg(lambda labels: labels.value_counts().idxmax()))
print(f"{len(df)} rows; wrote {out / (video.stem + '.faces.csv')} and {out / (video.stem + '.timeline.png')}")
