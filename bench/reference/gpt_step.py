"""The GPT training step and forward pass of bench/model.ts in plain PyTorch, for comparison.

Spec model.md §1 architecture (pre-LN blocks, attention then MLP, exact erf GELU, learned positions, causal
attention, untied unembedding, biases), written as nanoGPT's model.py would (fused q/k/v projection); §4 init
and step: N(0, 0.02²) weights with W_O and W_out at 0.02/√(2L), cross-entropy summed over the micro-batches of
one step and divided by the target count, global gradient-norm clip 1.0, AdamW (β 0.9/0.95, ε 1e-8, weight
decay on rank ≥ 2 only) at the nanoGPT schedule's learning rate. float32 throughout.
Usage: /usr/bin/python3 bench/reference/gpt_step.py THREADS [--steps N] [--warmup N] [--sequences S]
[--micro-batch M] [--forward-batch B] [--forward-reps N] [--forward-warmup N] [architecture options].
Prints one JSON object: {train: {seconds (each timed step), tokens (per step), final_loss}, forward: {seconds
(each timed pass), tokens (per pass)}, threads, torch_version, parameters, peak_rss_mib}.
"""

import argparse
import json
import math
import os
import resource
import time


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("threads", type=int, help="torch.set_num_threads value")
    parser.add_argument("--steps", type=int, default=8, help="timed training steps")
    parser.add_argument("--warmup", type=int, default=2, help="untimed training steps first")
    parser.add_argument("--sequences", type=int, default=69, help="sequences per optimizer step")
    parser.add_argument("--micro-batch", type=int, default=32, help="sequences per forward/backward")
    parser.add_argument("--forward-batch", type=int, default=64, help="sequences per timed forward pass")
    parser.add_argument("--forward-reps", type=int, default=10, help="timed forward passes")
    parser.add_argument("--forward-warmup", type=int, default=2, help="untimed forward passes first")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--d-mlp", type=int, default=512)
    parser.add_argument("--vocab", type=int, default=61)
    parser.add_argument("--n-ctx", type=int, default=59)
    parser.add_argument("--lr", type=float, default=1e-3, help="peak learning rate")
    parser.add_argument("--lr-warmup", type=int, default=100, help="learning-rate warm-up steps")
    args = parser.parse_args()
    for name in ("threads", "steps", "sequences", "micro_batch", "forward_batch", "forward_reps", "layers",
                 "d_model", "heads", "d_mlp", "vocab", "n_ctx"):
        if getattr(args, name) < 1:
            parser.error(f"{name} = {getattr(args, name)}, expected a positive integer")
    if args.d_model % args.heads != 0:
        parser.error(f"d_model {args.d_model} is not a multiple of heads {args.heads}")
    return args


def main() -> None:
    args = parse_args()
    # torch.set_num_threads does not reach OpenBLAS's own pool, so pin it before torch loads it
    os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch
    import torch.nn.functional as F
    from torch import nn

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    d, H, L, T, V = args.d_model, args.heads, args.layers, args.n_ctx, args.vocab
    dh = d // H

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln1 = nn.LayerNorm(d, eps=1e-5)
            self.qkv = nn.Linear(d, 3 * d)
            self.attn_out = nn.Linear(d, d)
            self.ln2 = nn.LayerNorm(d, eps=1e-5)
            self.mlp_in = nn.Linear(d, args.d_mlp)
            self.mlp_out = nn.Linear(args.d_mlp, d)
            self.register_buffer("mask", torch.ones(T, T, dtype=torch.bool).tril())

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            B, t, _ = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
            q, k, v = (y.view(B, t, H, dh).transpose(1, 2) for y in (q, k, v))  # [B,H,t,dh]
            scores = (q @ k.transpose(-2, -1)) / math.sqrt(dh)
            scores = scores.masked_fill(~self.mask[:t, :t], float("-inf"))
            z = (F.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(B, t, d)
            x = x + self.attn_out(z)
            return x + self.mlp_out(F.gelu(self.mlp_in(self.ln2(x))))  # F.gelu: the exact erf form

    class Gpt(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(V, d)
            self.pos_embed = nn.Parameter(torch.zeros(T, d))
            self.blocks = nn.ModuleList(Block() for _ in range(L))
            self.ln_final = nn.LayerNorm(d, eps=1e-5)
            self.unembed = nn.Linear(d, V)
            # spec §4 init: matrices and embeddings N(0, 0.02²), residual writers at 0.02/√(2L), biases 0
            for name, p in self.named_parameters():
                if p.dim() >= 2:
                    std = 0.02 / math.sqrt(2 * L) if name.endswith(("attn_out.weight", "mlp_out.weight")) else 0.02
                    nn.init.normal_(p, mean=0.0, std=std)
                elif name.endswith("bias"):
                    nn.init.zeros_(p)  # LayerNorm weights keep their 1

        def forward(self, tokens: torch.Tensor) -> torch.Tensor:
            x = self.embed(tokens) + self.pos_embed[: tokens.shape[1]]
            for block in self.blocks:
                x = block(x)
            return self.unembed(self.ln_final(x))

    model = Gpt()
    parameters = sum(p.numel() for p in model.parameters())
    decayed = [p for p in model.parameters() if p.dim() >= 2]
    plain = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decayed, "weight_decay": 0.1}, {"params": plain, "weight_decay": 0.0}],
        lr=args.lr, betas=(0.9, 0.95), eps=1e-8,
    )
    total_steps = args.warmup + args.steps

    def learning_rate(it: int) -> float:
        # nanoGPT get_lr over this run's steps, min = peak/10
        if it < args.lr_warmup:
            return args.lr * (it + 1) / (args.lr_warmup + 1)
        ratio = min(1.0, (it - args.lr_warmup) / max(1, total_steps - args.lr_warmup))
        return args.lr / 10 + 0.5 * (1 + math.cos(math.pi * ratio)) * (args.lr - args.lr / 10)

    # random move tokens (1..V−1: no padding, every target counts), a fresh batch per step
    pad = 0
    generator = torch.Generator().manual_seed(1)
    sequences = torch.randint(1, V, (total_steps, args.sequences, T + 1), generator=generator)

    def train_step(it: int) -> float:
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(it)
        rows = sequences[it]
        inputs, targets = rows[:, :-1], rows[:, 1:]
        counted = int((targets != pad).sum())
        optimizer.zero_grad(set_to_none=True)
        loss_sum = 0.0
        for first in range(0, args.sequences, args.micro_batch):
            x, y = inputs[first : first + args.micro_batch], targets[first : first + args.micro_batch]
            logits = model(x)
            loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1), ignore_index=pad, reduction="sum") / counted
            loss.backward()
            loss_sum += loss.item()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        return loss_sum

    model.train()
    for it in range(args.warmup):
        train_step(it)
    step_seconds = []
    for it in range(args.warmup, total_steps):
        start = time.perf_counter()
        final_loss = train_step(it)
        step_seconds.append(time.perf_counter() - start)

    model.eval()
    forward_tokens = torch.randint(1, V, (args.forward_batch, T), generator=generator)
    forward_seconds = []
    with torch.no_grad():
        for rep in range(args.forward_warmup + args.forward_reps):
            start = time.perf_counter()
            model(forward_tokens)
            if rep >= args.forward_warmup:
                forward_seconds.append(time.perf_counter() - start)

    print(
        json.dumps(
            {
                # every timed step and pass, in order: bench/model.ts takes the fastest and the mean
                "train": {"seconds": step_seconds, "tokens": args.sequences * T, "final_loss": final_loss},
                "forward": {"seconds": forward_seconds, "tokens": args.forward_batch * T},
                "threads": torch.get_num_threads(),
                "torch_version": torch.__version__,
                "parameters": parameters,
                "shape": {"sequences": args.sequences, "micro_batch": args.micro_batch, "forward_batch": args.forward_batch},
                # Linux reports ru_maxrss in KiB
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
