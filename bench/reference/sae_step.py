"""The SAE benchmark step of bench/sae-step.ts in plain PyTorch, for comparison.

Standard ReLU + L1 SAE (spec sae.md §2.1) with dictionary_learning's ConstrainedAdam (§1.2): project the
parallel gradient component out of each decoder row, torch.optim.Adam step, renormalise the rows.
Usage: /usr/bin/python3 bench/reference/sae_step.py THREADS [--steps N] [--warmup N] [--batch B] [--d-in D]
[--d-sae F] [--state FILE]. --state starts from the benchmark's own parameters and batch (bench/sae.ts writes them:
raw little-endian float32 W_enc [d_in, d_sae], b_enc [d_sae], W_dec [d_sae, d_in], b_dec [d_in], x [batch, d_in],
back to back), so the losses can be compared step for step; without it, a seeded tied init and random x.
Prints one JSON object: {seconds_per_step (fastest timed step), mean_seconds_per_step, threads, torch_version,
matmul_gflops, first_loss (the first step's, warm-up included), final_loss, ...}.
"""

import argparse
import json
import os
import time


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("threads", type=int, help="torch.set_num_threads value")
    parser.add_argument("--steps", type=int, default=3, help="timed steps")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--d-in", type=int, default=512)
    parser.add_argument("--d-sae", type=int, default=4096)
    parser.add_argument("--l1", type=float, default=0.05, help="λ of λ·mean_b Σ f")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--state", help="raw float32 parameters and batch to start from (see above)")
    args = parser.parse_args()
    for name in ("threads", "steps", "batch", "d_in", "d_sae"):
        if getattr(args, name) < 1:
            parser.error(f"{name} = {getattr(args, name)}, expected a positive integer")
    return args


def load_state(path: str, batch: int, d_in: int, d_sae: int):
    """The parameters (as torch Parameters) and batch of a --state file, checked against the shape arguments."""
    import numpy as np
    import torch

    sizes = {"W_enc": d_in * d_sae, "b_enc": d_sae, "W_dec": d_sae * d_in, "b_dec": d_in, "x": batch * d_in}
    values = np.fromfile(path, dtype="<f4")
    if values.size != sum(sizes.values()):
        raise SystemExit(f"{path}: {values.size} float32 values, expected {sum(sizes.values())} for batch {batch}, d_in {d_in}, d_sae {d_sae}")
    tensors, offset = {}, 0
    for name, size in sizes.items():
        tensors[name] = torch.from_numpy(values[offset : offset + size].copy())
        offset += size
    W_enc = torch.nn.Parameter(tensors["W_enc"].reshape(d_in, d_sae))
    b_enc = torch.nn.Parameter(tensors["b_enc"])
    W_dec = torch.nn.Parameter(tensors["W_dec"].reshape(d_sae, d_in))
    b_dec = torch.nn.Parameter(tensors["b_dec"])
    return W_enc, b_enc, W_dec, b_dec, tensors["x"].reshape(batch, d_in)


def main() -> None:
    args = parse_args()
    # torch.set_num_threads does not reach OpenBLAS's own pool, so pin it before torch loads it
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    batch, d_in, d_sae = args.batch, args.d_in, args.d_sae

    if args.state:
        W_enc, b_enc, W_dec, b_dec, x = load_state(args.state, batch, d_in, d_sae)
    else:
        # spec sae.md §2.1 tied init: decoder rows at norm 0.1, W_enc = W_decᵀ, b_enc ~ U(±1/√d_in), b_dec = 0
        decoder = torch.randn(d_sae, d_in)
        decoder = 0.1 * decoder / decoder.norm(dim=1, keepdim=True)
        W_dec = torch.nn.Parameter(decoder)  # [d_sae, d_in]
        W_enc = torch.nn.Parameter(decoder.t().contiguous())  # [d_in, d_sae]
        bound = 1 / d_in**0.5
        b_enc = torch.nn.Parameter(torch.empty(d_sae).uniform_(-bound, bound))
        b_dec = torch.nn.Parameter(torch.zeros(d_in))
        x = torch.randn(batch, d_in)
    optimizer = torch.optim.Adam([W_enc, b_enc, W_dec, b_dec], lr=args.lr, betas=(0.9, 0.999), eps=1e-8)

    def step() -> float:
        f = torch.relu((x - b_dec) @ W_enc + b_enc)
        x_hat = f @ W_dec + b_dec
        loss = (x - x_hat).pow(2).sum(dim=-1).mean() + args.l1 * f.sum(dim=-1).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        with torch.no_grad():
            unit_rows = W_dec / W_dec.norm(dim=1, keepdim=True)
            W_dec.grad.sub_((W_dec.grad * unit_rows).sum(dim=1, keepdim=True) * unit_rows)
        optimizer.step()
        with torch.no_grad():
            W_dec.div_(W_dec.norm(dim=1, keepdim=True))
        return loss.item()

    first_loss = None
    for _ in range(args.warmup):
        loss = step()
        first_loss = loss if first_loss is None else first_loss
    step_seconds = []
    for _ in range(args.steps):
        start = time.perf_counter()
        loss = step()
        step_seconds.append(time.perf_counter() - start)
        first_loss = loss if first_loss is None else first_loss

    # torch's own matmul on the encoder product, to tell its BLAS apart from the rest of the step
    a, b = torch.randn(batch, d_in), torch.randn(d_in, d_sae)
    product = a @ b
    matmul_start = time.perf_counter()
    for _ in range(2):
        torch.mm(a, b, out=product)
    matmul_gflops = 2 * 2 * batch * d_in * d_sae / (time.perf_counter() - matmul_start) / 1e9
    print(
        json.dumps(
            {
                # the fastest step: other load on the machine only ever adds time
                "seconds_per_step": min(step_seconds),
                "mean_seconds_per_step": sum(step_seconds) / len(step_seconds),
                "threads": torch.get_num_threads(),
                "torch_version": torch.__version__,
                "steps": args.steps,
                "matmul_gflops": matmul_gflops,
                "shape": {"batch": batch, "d_in": d_in, "d_sae": d_sae},
                "first_loss": first_loss,
                "final_loss": loss,
            }
        )
    )


if __name__ == "__main__":
    main()
