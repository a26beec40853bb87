#!/usr/bin/env python3
"""Writes sim-configs/models/video-cnn.onnx: the benchmark CNN of make_fixtures.py
(Conv s2 + BN + ReLU, Conv + BN + ReLU, MaxPool, a residual block, two more convs,
global average pooling, Linear: 6 convs) at a 64x64 input, 5.3e7 dense MACs per frame,
random (seeded) weights. Small enough for chip sweeps from 8 to 256 cores and for a
video demo. Development only: needs Debian's python3-torch and python3-onnx.

    /usr/bin/python3 scripts/make_video_cnn.py
"""
import os
import sys

import onnx
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "sim-configs", "models", "video-cnn.onnx")


def main():
    mf.seed_all(1)
    model = mf.CNNBench()
    mf.kaiming_init(model)
    mf.randomize_bn(model)
    model.eval()
    shape = [3, 64, 64]
    macs = mf.dense_macs(model, shape)
    example = torch.zeros([1] + shape)
    mf.export(model, example, OUT, 13)
    onnx.checker.check_model(onnx.load(OUT))
    print(f"wrote {OUT}: dense MACs per frame {macs} ({macs / 1e6:.1f} M), ops {sorted(set(mf.op_types(OUT)))}")


if __name__ == "__main__":
    main()
