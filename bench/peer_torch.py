"""The PyTorch peer, run by bench/peers.ts when python3 can import torch.

The initial network (REFERENCE.md) in channels-last layout, on the CPU with 2
threads or on CUDA (--device cuda): 3 warm-up and --train-steps timed RMSprop
steps at batch 64, 3 warm-up and --infer-batches timed inference batches at
batch 256. Each step ends by reading its result on the host, so CUDA's
asynchronous work is inside the time. Prints one JSON line (PeerFigures in
bench/results.ts) last.
"""
import argparse
import json
import statistics
import time

import torch
from torch import nn

WARMUP = 3


def initial_network():
    # ceil_mode pads at the end like TF's 'same' pooling: 69 -> 35 -> 18 -> 9.
    def block(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True)]

    return nn.Sequential(
        *block(3, 32), *block(32, 64), *block(64, 128),
        nn.Flatten(), nn.Linear(128 * 9 * 9, 128), nn.ReLU(), nn.Linear(128, 2),
    )


def timed(count, step):
    """Seconds of each of `count` calls of `step`, after the warm-up calls."""
    for _ in range(WARMUP):
        step()
    seconds = []
    for _ in range(count):
        t0 = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - t0)
    return seconds


def rates(batch, seconds):
    r = [batch / s for s in seconds]
    return {"batch": batch, "images_per_s": statistics.median(r), "images_per_s_min": min(r), "images_per_s_max": max(r)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--train-steps", type=int, default=20)
    parser.add_argument("--infer-batches", type=int, default=10)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args()

    torch.set_num_threads(2)
    torch.manual_seed(1)
    device = torch.device(args.device)
    model = initial_network().to(device=device, memory_format=torch.channels_last)
    # Keras 2 RMSprop: lr 0.001, rho 0.9, epsilon 1e-7 (PyTorch adds it outside the root; speed is the same).
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()

    x64 = torch.rand(64, 3, 69, 69, device=device).to(memory_format=torch.channels_last)
    y64 = torch.randint(0, 2, (64,), device=device)

    def train_step():
        optimizer.zero_grad()
        loss = loss_fn(model(x64), y64)
        loss.backward()
        optimizer.step()
        loss.item()

    model.train()
    train_seconds = timed(args.train_steps, train_step)

    x256 = torch.rand(256, 3, 69, 69, device=device).to(memory_format=torch.channels_last)

    def infer_batch():
        with torch.inference_mode():
            torch.softmax(model(x256), dim=1).cpu().numpy()

    model.eval()
    infer_seconds = timed(args.infer_batches, infer_batch)

    print(json.dumps({
        "system": f"PyTorch {torch.__version__} {args.device.upper()}",
        "device": torch.cuda.get_device_name(device) if args.device == "cuda" else f"CPU, {torch.get_num_threads()} threads",
        "train": {**rates(64, train_seconds), "steps": args.train_steps},
        "infer": {**rates(256, infer_seconds), "batches": args.infer_batches},
    }))


if __name__ == "__main__":
    main()
