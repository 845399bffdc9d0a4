"""Coverage of the board-metrics benchmark (bench/board.ts) the reference implementation's dense way, for comparison.

SAE_BoardGameEval circuits/eval_sae_as_classifier.py aggregate_statistics style (spec board-metrics.md §3–6):
encode every labelling row in torch, alive/max on the first fire_rows rows, and per threshold k a dense on-matrix
on[n, f] = a_f(n) > k/10·max_f with TP[k] = onᵀ·truth by matmul; F1 in float64, best over alive features per entry,
coverage_ref(k) = Σ_j best[k, j] / (R·R·C) (Othello: no class dropped), coverage_ref = max over k.
Usage: /usr/bin/python3 bench/reference/board_eval.py THREADS DIR. DIR holds inputs.json {rows, d_in, d_sae,
fire_rows, x, W_enc, b_enc, b_dec, functions: [{id, rows, classes, file}]} and the raw little-endian files it names:
x float32 [rows, d_in] (hook activations of the labelling set), W_enc float32 [d_in, d_sae], b_enc [d_sae],
b_dec [d_in], each truth table uint8 [rows, rows_fn·rows_fn·classes].
Prints one JSON object: {seconds (everything after the files are read), encode_seconds, threads, torch_version,
n_alive, functions: {id: {coverage_ref, coverage_k, coverage_ref_by_k}}}.
"""

import argparse
import json
import os
import time

CHUNK_ROWS = 4096
THRESHOLDS = 11
EPS = 1e-8


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("threads", type=int, help="torch.set_num_threads value")
    parser.add_argument("dir", help="directory with inputs.json and the raw files it names")
    args = parser.parse_args()
    if args.threads < 1:
        parser.error(f"threads = {args.threads}, expected a positive integer")
    return args


def load(directory: str):
    import numpy as np
    import torch

    with open(os.path.join(directory, "inputs.json")) as f:
        inputs = json.load(f)
    rows, d_in, d_sae = inputs["rows"], inputs["d_in"], inputs["d_sae"]

    def read(name: str, dtype: str, shape):
        path = os.path.join(directory, inputs[name] if name in inputs else name)
        values = np.fromfile(path, dtype=dtype)
        expected = 1
        for size in shape:
            expected *= size
        if values.size != expected:
            raise SystemExit(f"{path}: {values.size} values, expected {expected} for shape {list(shape)}")
        return torch.from_numpy(values.reshape(shape))

    x = read("x", "<f4", (rows, d_in))
    W_enc = read("W_enc", "<f4", (d_in, d_sae))
    b_enc = read("b_enc", "<f4", (d_sae,))
    b_dec = read("b_dec", "<f4", (d_in,))
    truths = {}
    for fn in inputs["functions"]:
        width = fn["rows"] * fn["rows"] * fn["classes"]
        # D_ref = R·R·C: Othello's masked blank class is counted (spec §6 table)
        truths[fn["id"]] = (read(fn["file"], "u1", (rows, width)), fn["rows"] * fn["rows"] * fn["classes"])
    return inputs, x, W_enc, b_enc, b_dec, truths


def main() -> None:
    args = parse_args()
    # torch.set_num_threads does not reach OpenBLAS's own pool, so pin it before torch loads it
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    inputs, x, W_enc, b_enc, b_dec, truths = load(args.dir)
    rows, d_sae, fire_rows = inputs["rows"], inputs["d_sae"], inputs["fire_rows"]
    ids = list(truths)
    widths = [truths[i][0].shape[1] for i in ids]
    start = time.perf_counter()
    encode_seconds = 0.0

    def encode(begin: int, end: int):
        nonlocal encode_seconds
        t = time.perf_counter()
        f = torch.relu((x[begin:end] - b_dec) @ W_enc + b_enc)
        encode_seconds += time.perf_counter() - t
        return f

    # spec §3: alive and |max| on the firing sample
    alive = torch.zeros(d_sae, dtype=torch.bool)
    max_act = torch.full((d_sae,), float("-inf"))
    for begin in range(0, fire_rows, CHUNK_ROWS):
        f = encode(begin, min(begin + CHUNK_ROWS, fire_rows))
        alive |= (f != 0).any(dim=0)
        max_act = torch.maximum(max_act, f.max(dim=0).values)
    max_act = torch.where(alive, max_act.abs(), torch.zeros(d_sae))
    thresholds = torch.arange(0, 1.1, 0.1)[:THRESHOLDS, None] * max_act[None, :]  # [T, F] float32

    # spec §5: on counts and TP = onᵀ·truth per threshold, dense over all positions and features
    truth_all = torch.cat([truths[i][0] for i in ids], dim=1).float()  # [rows, ΣW]
    positive = truth_all.sum(dim=0).double()
    on_count = torch.zeros(THRESHOLDS, d_sae, dtype=torch.float64)
    tp = torch.zeros(THRESHOLDS, d_sae, truth_all.shape[1], dtype=torch.float64)
    for begin in range(0, rows, CHUNK_ROWS):
        end = min(begin + CHUNK_ROWS, rows)
        f = encode(begin, end)
        truth = truth_all[begin:end]
        for k in range(THRESHOLDS):
            on = (f > thresholds[k]).float()  # [n, F]
            on_count[k] += on.sum(dim=0).double()
            tp[k] += (on.t() @ truth).double()

    # spec §5–6: F1 in float64, best over alive features, coverage_ref per k and its maximum
    fp = on_count[:, :, None] - tp
    fn_ = positive[None, None, :] - tp
    precision = tp / (tp + fp + EPS)
    recall = tp / (tp + fn_ + EPS)
    f1 = 2 * precision * recall / (precision + recall + EPS)
    f1[:, ~alive, :] = 0
    best = f1.max(dim=1).values  # [T, ΣW]
    functions = {}
    offset = 0
    for fn_id, width in zip(ids, widths):
        d_ref = truths[fn_id][1]
        by_k = (best[:, offset : offset + width].sum(dim=1) / d_ref).tolist()
        offset += width
        k_star = max(range(THRESHOLDS), key=lambda k: (by_k[k], -k))  # first argmax
        functions[fn_id] = {"coverage_ref": by_k[k_star], "coverage_k": k_star, "coverage_ref_by_k": by_k}
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "seconds": seconds,
                "encode_seconds": encode_seconds,
                "threads": torch.get_num_threads(),
                "torch_version": torch.__version__,
                "n_alive": int(alive.sum()),
                "functions": functions,
            }
        )
    )


if __name__ == "__main__":
    main()
