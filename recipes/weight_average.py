"""Average the weights of several fine-tunes of one model ("model soup", Wortsman et al. 2022) and
score each average on PublicTest: every model alone, the uniform average of all, and the greedy
soup (from the best alone, each next-best added only if the average does not lose accuracy). An
experiment beside the shipped models; models that do not share an architecture are refused.

    python recipes/weight_average.py --data fer2013.tar.gz A.keras B.keras ... [-o soup.keras]

-o saves the greedy soup. Weights are averaged tensor by tensor, BatchNorm statistics included, so
only fine-tunes that started from one model (one basin) are worth averaging.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def average(weight_sets: list[list[np.ndarray]], members: list[int]) -> list[np.ndarray]:
    return [np.mean([weight_sets[i][k] for i in members], axis=0) for k in range(len(weight_sets[0]))]


def greedy_soup(score, n: int) -> tuple[list[int], float, list[float]]:
    """score(members) -> accuracy. Returns the members kept, their accuracy and each model's alone."""
    alone = [score([i]) for i in range(n)]
    order = sorted(range(n), key=lambda i: -alone[i])
    kept, best = [order[0]], alone[order[0]]
    for i in order[1:]:
        trial = score([*kept, i])
        if trial >= best:
            kept, best = [*kept, i], trial
    return kept, best, alone


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--data", required=True, help="fer2013.csv, fer2013.tar.gz, a prepared .npz ...")
    ap.add_argument("--split", default="PublicTest")
    ap.add_argument("-o", "--output", default=None, help="save the greedy soup here (.keras)")
    args = ap.parse_args(argv)
    if len(args.models) < 2:
        ap.error("give two models or more")
    if args.output and not args.output.endswith(".keras"):
        ap.error("--output must end in .keras")

    from fer_edge.data.cache import load
    from fer_edge.errors import FerEdgeError
    from fer_edge.keras_files import import_keras, load_keras_file

    import_keras()
    from fer_edge.train.predict import predict_keras

    try:
        models = [load_keras_file(m, "model") for m in args.models]
        split = load(args.data).split(args.split)
    except FerEdgeError as e:
        sys.exit(f"error: {e}")
    weight_sets = [m.get_weights() for m in models]
    shapes = [w.shape for w in weight_sets[0]]
    for path, weights in zip(args.models[1:], weight_sets[1:]):
        if [w.shape for w in weights] != shapes:
            sys.exit(f"error: {path} is not the architecture of {args.models[0]}: its weights do not average")
    net = models[0]

    def score(members: list[int]) -> float:
        net.set_weights(average(weight_sets, members))
        return float((predict_keras(net, split.images).argmax(1) == split.labels).mean())

    kept, best, alone = greedy_soup(score, len(models))
    for path, acc in sorted(zip(args.models, alone), key=lambda x: -x[1]):
        print(f"{100 * acc:6.2f}%  {path}")
    print(f"{100 * score(list(range(len(models)))):6.2f}%  uniform average of all {len(models)}")
    print(f"{100 * best:6.2f}%  greedy soup of {len(kept)}: {' + '.join(args.models[i] for i in kept)}")
    if args.output:
        from fer_edge.atomic import atomic_output

        net.set_weights(average(weight_sets, kept))
        try:
            with atomic_output(args.output, ".keras") as tmp:  # Keras picks the format by the suffix
                net.save(tmp)
        except FerEdgeError as e:
            sys.exit(f"error: {e}")
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
