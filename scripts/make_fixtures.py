#!/usr/bin/env python3
"""Generate the ONNX test fixtures in test/fixtures/onnx/ (development time only).

Run from the repository root with a Python that has torch, onnx and numpy
(for example Debian's python3-torch and python3-onnx):

    /usr/bin/python3 scripts/make_fixtures.py

The generated files are committed; the tests never run Python and never need
this script. Re-run it only to regenerate the fixtures. Output is deterministic
(every model is built with torch.manual_seed(0) / np.random.seed(0)).

For each model <name> the script writes
  <name>.onnx         exported with torch.onnx.export (classic TorchScript
                      exporter), as it comes: no simplifier, no hand clean-up,
                      batch size 1, model.eval()
  <name>.input.npy    float32 [T, ...input shape without batch]: a slowly
                      changing "video" (frame 0 random, every next frame =
                      previous frame + small noise on ~20% of the elements)
  <name>.output.npy   float32 [T, ...output shape without batch]: the torch
                      outputs, computed frame by frame with batch 1
and manifest.json describing all of them (name, opset, input_shape,
output_shape, ops, description, frames).

gemm_alpha_beta.onnx is built by hand with onnx.helper (Gemm with alpha=0.5,
beta=2.0, transB=0, 1-D bias); its expected outputs are computed with numpy.
"""

import inspect
import math
import json
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "test", "fixtures", "onnx")
T = 4  # frames per fixture video

torch.set_num_threads(1)


def seed_all(seed=0):
    torch.manual_seed(seed)
    np.random.seed(seed)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def randomize_bn(model):
    """Give every BatchNorm non-trivial running stats and affine params."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n) * 0.2)
                m.running_var.copy_(torch.rand(n) * 0.8 + 0.4)
                m.weight.copy_(torch.rand(n) * 0.8 + 0.6)
                m.bias.copy_(torch.randn(n) * 0.1)


def kaiming_init(model):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                if m.bias is not None:
                    m.bias.uniform_(-0.05, 0.05)
            elif isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="linear")
                m.bias.uniform_(-0.05, 0.05)


def make_video(shape, frames=T, scale=1.0, positive=False, noise=0.1, frac=0.2):
    """frames x shape float32: frame 0 random, then sparse small changes."""
    if positive:
        x0 = torch.rand(shape) * scale
    else:
        x0 = torch.randn(shape) * scale
    out = [x0]
    for _ in range(frames - 1):
        prev = out[-1]
        mask = (torch.rand(shape) < frac).float()
        if mask.sum() == 0:  # tiny inputs: make sure every frame changes somewhere
            mask.view(-1)[torch.randint(mask.numel(), (1,))] = 1.0
        step = torch.randn(shape) * (noise * scale) * mask
        out.append(prev + step)
    return torch.stack(out).float()


_EXPORT_HAS_DYNAMO = "dynamo" in inspect.signature(torch.onnx.export).parameters


def export(model, example, path, opset, **extra):
    kwargs = dict(
        opset_version=opset,
        input_names=["input"],
        output_names=["output"],
    )
    kwargs.update(extra)
    if _EXPORT_HAS_DYNAMO:
        kwargs["dynamo"] = False
    torch.onnx.export(model, (example,), path, **kwargs)


def op_types(path):
    m = onnx.load(path)
    seen = []
    for n in m.graph.node:
        if n.op_type not in seen:
            seen.append(n.op_type)
    return seen


def save_npy(path, arr):
    np.save(path, np.ascontiguousarray(arr, dtype=np.float32))


MANIFEST = []


def build_torch_fixture(name, opset, model, input_shape, description,
                        frames=T, video_kwargs=None, save_io=True, note=None,
                        export_kwargs=None):
    """input_shape excludes the batch dimension."""
    model.eval()
    video = make_video(tuple(input_shape), frames=frames, **(video_kwargs or {}))
    outs = []
    with torch.no_grad():
        for t in range(frames):
            y = model(video[t].unsqueeze(0))
            assert y.shape[0] == 1
            outs.append(y[0].clone())
    outputs = torch.stack(outs).float()

    onnx_path = os.path.join(OUT_DIR, name + ".onnx")
    with torch.no_grad():
        export(model, video[0].unsqueeze(0), onnx_path, opset, **(export_kwargs or {}))
    if save_io:
        save_npy(os.path.join(OUT_DIR, name + ".input.npy"), video.numpy())
        save_npy(os.path.join(OUT_DIR, name + ".output.npy"), outputs.numpy())

    ops = op_types(onnx_path)
    entry = {
        "name": name,
        "opset": opset,
        "input_shape": list(input_shape),
        "output_shape": list(outputs.shape[1:]),
        "ops": ops,
        "description": description,
        "frames": frames if save_io else 0,
    }
    if note:
        entry["note"] = note
    MANIFEST.append(entry)
    print(f"[{name}] opset {opset} in {list(input_shape)} out {list(outputs.shape[1:])}")
    print(f"    ops: {ops}")
    print(f"    output range [{outputs.min().item():.4g}, {outputs.max().item():.4g}], "
          f"std {outputs.std().item():.4g}")
    if frames > 1:
        din = [(video[t] != video[t - 1]).float().mean().item() for t in range(1, frames)]
        dout = [(outputs[t] - outputs[t - 1]).abs().max().item() for t in range(1, frames)]
        print(f"    changed input fraction per frame {[round(d, 3) for d in din]}, "
              f"max |output delta| {[float(f'{d:.3g}') for d in dout]}")
    return model, outputs


# --------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 200)
        self.fc2 = nn.Linear(200, 200)
        self.fc3 = nn.Linear(200, 10)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return F.softmax(self.fc3(x), dim=1)


class MLPFlatten(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = x.view(x.size(0), -1)
        return self.fc2(F.relu(self.fc1(x)))


class CNNBasic(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, stride=1, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=True)
        self.conv3 = nn.Conv2d(16, 16, 3, padding=2, dilation=2)
        self.pool2 = nn.AvgPool2d(2)
        self.fc = nn.Linear(16 * 2 * 2, 10)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))     # 8x16x16
        x = self.pool1(x)                       # 8x8x8
        x = F.relu(self.conv2(x))               # 16x4x4
        x = F.relu(self.conv3(x))               # 16x4x4
        x = self.pool2(x)                       # 16x2x2
        x = torch.flatten(x, 1)
        return self.fc(x)


class CNNGroup(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.gconv = nn.Conv2d(16, 16, 3, padding=1, groups=4)
        self.bn = nn.BatchNorm2d(16)
        self.dwconv = nn.Conv2d(16, 16, 3, padding=1, groups=16)
        self.pwconv = nn.Conv2d(16, 32, 1)
        self.act = nn.ReLU6()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.act(self.conv1(x))
        x = self.act(self.bn(self.gconv(x)))
        x = self.act(self.dwconv(x))
        x = F.relu(self.pwconv(x))
        x = self.gap(x)
        x = torch.flatten(x, 1)
        return self.fc(x)


class ResNetBlock(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.stem_bn = nn.BatchNorm2d(8)
        # identity residual block
        self.b1c1 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.b1n1 = nn.BatchNorm2d(8)
        self.b1c2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.b1n2 = nn.BatchNorm2d(8)
        # downsampling residual block
        self.b2c1 = nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False)
        self.b2n1 = nn.BatchNorm2d(16)
        self.b2c2 = nn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.b2n2 = nn.BatchNorm2d(16)
        self.b2sc = nn.Conv2d(8, 16, 1, stride=2, bias=False)
        self.b2scn = nn.BatchNorm2d(16)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        y = F.relu(self.stem_bn(self.stem(x)))
        z = F.relu(self.b1n2(self.b1c2(F.relu(self.b1n1(self.b1c1(y))))) + y)
        w = self.b2n2(self.b2c2(F.relu(self.b2n1(self.b2c1(z)))))
        w = F.relu(w + self.b2scn(self.b2sc(z)))
        w = torch.flatten(self.gap(w), 1)
        return self.fc(w)


class ConcatUpsample(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc1 = nn.Conv2d(3, 8, 3, padding=1)
        self.pool = nn.MaxPool2d(2)
        self.enc2 = nn.Conv2d(8, 16, 3, padding=1)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.dec = nn.Conv2d(16 + 8, 4, 3, padding=1)

    def forward(self, x):
        s = F.relu(self.enc1(x))            # 8x16x16 (skip)
        h = self.pool(s)                    # 8x8x8
        h = F.relu(self.enc2(h))            # 16x8x8
        h = self.up(h)                      # 16x16x16
        h = torch.cat([h, s], dim=1)        # 24x16x16
        return self.dec(h)                  # 4x16x16


class Activations(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv0 = nn.Conv2d(3, 8, 3, padding=1)
        self.lrelu = nn.LeakyReLU(0.1)
        self.conv1 = nn.Conv2d(8, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
        self.conv3 = nn.Conv2d(8, 8, 1)
        self.conv4 = nn.Conv2d(8, 8, 3, padding=1)
        self.hsig = nn.Hardsigmoid()
        self.hswish = nn.Hardswish()
        self.bn = nn.BatchNorm2d(8)   # standalone: after an Add, not a conv
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(8 * 6 * 6, 10)

    def forward(self, x):
        h = self.lrelu(self.conv0(x))
        a = torch.sigmoid(self.conv1(h))
        b = torch.tanh(self.conv2(h))
        y = a * b
        y = y * 0.5
        y = y / 3.0
        u = self.hsig(self.conv3(y))
        v = self.hswish(self.conv4(y))
        s = self.bn(u + v)
        s = self.pool(s)
        s = torch.flatten(s, 1)
        return F.softmax(self.fc(s), dim=1)


class ModernActs(nn.Module):
    """Activations of newer CNNs, a channel split, a strided slice and a mean."""
    def __init__(self):
        super().__init__()
        self.conv0 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv1 = nn.Conv2d(8, 8, 3, padding=1)
        self.prelu = nn.PReLU(8)
        self.conv2 = nn.Conv2d(8, 8, 1)
        self.conv3 = nn.Conv2d(4, 4, 3, padding=1)
        self.conv4 = nn.Conv2d(8, 8, 3, padding=1)
        self.conv5 = nn.Conv2d(8, 8, 3, padding=1)
        self.fc = nn.Linear(8, 6)

    def forward(self, x):
        h = F.elu(self.conv0(x))
        h = self.prelu(self.conv1(h))
        a, b = torch.chunk(F.gelu(self.conv2(h)), 2, dim=1)
        y = torch.cat([F.softplus(self.conv3(a)), F.mish(b)], dim=1)
        z = F.selu(self.conv4(y)) + F.celu(self.conv5(y), alpha=0.5)
        z = z[:, :, ::2, 1::2]
        m = F.silu(z.mean((2, 3)))
        return F.log_softmax(self.fc(m), dim=1)


class SEBlock(nn.Module):
    """A MobileNetV3 inverted-residual block with squeeze-and-excitation."""
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.Hardswish())
        self.expand = nn.Sequential(nn.Conv2d(8, 16, 1), nn.BatchNorm2d(16), nn.Hardswish())
        self.dw = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1, groups=16), nn.BatchNorm2d(16), nn.Hardswish())
        self.se_reduce = nn.Conv2d(16, 4, 1)
        self.se_expand = nn.Conv2d(4, 16, 1)
        self.project = nn.Sequential(nn.Conv2d(16, 8, 1), nn.BatchNorm2d(8))
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        s = self.stem(x)
        h = self.dw(self.expand(s))
        w = F.hardsigmoid(self.se_expand(F.relu(self.se_reduce(F.adaptive_avg_pool2d(h, 1)))))
        h = self.project(h * w) + s
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(h, 1), 1))


class UNetDecoder(nn.Module):
    """A two-level U-Net: strided encoder, ConvTranspose upsamplers, skip concat."""
    def __init__(self):
        super().__init__()
        self.enc1 = nn.Conv2d(3, 8, 3, padding=1)
        self.enc2 = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU())
        self.up1 = nn.ConvTranspose2d(16, 8, 2, stride=2)
        self.dec1 = nn.Conv2d(16, 8, 3, padding=1)
        self.up2 = nn.ConvTranspose2d(8, 4, 3, stride=2, padding=1, output_padding=1, groups=2)
        self.head = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        s = F.relu(self.enc1(x))
        h = self.enc2(s)
        h = F.relu(self.dec1(torch.cat([self.up1(h), s], dim=1)))
        return self.head(F.relu(self.up2(h)))


class ConvTranspose1D(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(2, 4, 3, padding=1)
        self.up = nn.ConvTranspose1d(4, 3, 4, stride=2, padding=1, dilation=2)
        self.bn = nn.BatchNorm1d(3)

    def forward(self, x):
        return torch.tanh(self.bn(self.up(F.relu(self.conv(x)))))


class BilinearResize(nn.Module):
    """Bilinear up- and downsampling as segmentation heads use them."""
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.conv2 = nn.Conv2d(6, 6, 3, padding=1)
        self.conv3 = nn.Conv2d(6, 4, 3, padding=1)
        self.head = nn.Conv2d(4, 2, 1)

    def forward(self, x):
        h = F.relu(self.conv1(x))                                                    # 9x11
        h = F.interpolate(h, scale_factor=2, mode="bilinear", align_corners=False)   # 18x22
        h = F.relu(self.conv2(h))
        h = F.interpolate(h, size=(7, 13), mode="bilinear", align_corners=True)      # 7x13
        h = F.relu(self.conv3(h))
        h = F.interpolate(h, scale_factor=0.5, mode="bilinear", align_corners=False) # 3x6
        return self.head(F.relu(h))


class Elementwise(nn.Module):
    """Elementwise math on values: abs, pow, sqrt, exp, log, reciprocal, erf, GELU."""
    def __init__(self):
        super().__init__()
        self.fc0 = nn.Linear(12, 16)
        self.fc1 = nn.Linear(16, 16)
        self.fc2 = nn.Linear(16, 16)
        self.fc3 = nn.Linear(32, 8)
        self.fc4 = nn.Linear(8, 4)

    def forward(self, x):
        h = self.fc0(x)
        u = torch.sqrt(torch.abs(h) + 0.5) + torch.reciprocal(h * h + 1.0)
        v = torch.log(torch.exp(torch.clamp(self.fc1(u), -3.0, 3.0)) + 1.0)
        w = torch.erf(self.fc2(v)) + torch.pow(self.fc2(u), 2)
        g = F.gelu(self.fc3(torch.cat([w, v], dim=1)))
        return self.fc4(F.gelu(g, approximate="tanh"))


class PadTranspose(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, 3)               # on padded 2x9x13 -> 4x7x11
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)    # on 4x11x7 -> 4x11x7
        self.weight = nn.Parameter(torch.randn(4 * 11 * 7, 5) * (1.0 / np.sqrt(308)))
        self.bias = nn.Parameter(torch.randn(5) * 0.1)

    def forward(self, x):
        x = F.pad(x, (1, 2, 0, 1))          # W: +1 left +2 right, H: +0 top +1 bottom
        x = F.relu(self.conv1(x))
        x = x.permute(0, 1, 3, 2)
        x = F.relu(self.conv2(x))
        x = x.reshape(1, -1)
        return torch.matmul(x, self.weight) + self.bias


class ClipOpset11(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3)
        self.conv2 = nn.Conv2d(6, 6, 3)
        self.fc = nn.Linear(6 * 6 * 6, 10)

    def forward(self, x):
        x = torch.clamp(self.conv1(x), min=0, max=6)
        x = torch.clamp(self.conv2(x), min=-1, max=1)
        x = torch.flatten(x, 1)
        return self.fc(x)


class GemmTrans(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 8)
        self.fc2 = nn.Linear(8, 4)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class CNNBench(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False)
        self.n1 = nn.BatchNorm2d(32)
        self.c2 = nn.Conv2d(32, 64, 3, padding=1, bias=False)
        self.n2 = nn.BatchNorm2d(64)
        self.pool = nn.MaxPool2d(2)
        self.r1 = nn.Conv2d(64, 64, 3, padding=1, bias=False)
        self.rn1 = nn.BatchNorm2d(64)
        self.r2 = nn.Conv2d(64, 64, 3, padding=1, bias=False)
        self.rn2 = nn.BatchNorm2d(64)
        self.c3 = nn.Conv2d(64, 128, 3, stride=2, padding=1, bias=False)
        self.n3 = nn.BatchNorm2d(128)
        self.c4 = nn.Conv2d(128, 128, 3, padding=1, bias=False)
        self.n4 = nn.BatchNorm2d(128)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.n1(self.c1(x)))          # 32x64x64
        x = F.relu(self.n2(self.c2(x)))          # 64x64x64
        x = self.pool(x)                         # 64x32x32
        r = F.relu(self.rn1(self.r1(x)))
        r = self.rn2(self.r2(r))
        x = F.relu(r + x)                        # 64x32x32
        x = F.relu(self.n3(self.c3(x)))          # 128x16x16
        x = F.relu(self.n4(self.c4(x)))          # 128x16x16
        x = torch.flatten(self.gap(x), 1)
        return self.fc(x)


def pow2_scale(m, qmax):
    """The power of two at or above m / qmax: x / scale is then exact in float32, so torch's
    x * (1 / scale) and ONNX's x / scale round alike."""
    return 2.0 ** math.ceil(math.log2(max(m, 1e-8) / qmax))


class QDQNet(nn.Module):
    """Fake-quantized (quantization-aware) CNN as torch.onnx.export writes it: per-channel
    int8 weights (QuantizeLinear -> DequantizeLinear on the initializers) and uint8
    activations (QDQ pairs after the ReLUs), power-of-two scales."""
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.fc = nn.Linear(8 * 5 * 5, 6)

    @staticmethod
    def wq(w):
        scales = torch.tensor([pow2_scale(w[c].abs().max().item(), 127) for c in range(w.shape[0])],
                              dtype=torch.float32)
        zeros = torch.zeros(w.shape[0], dtype=torch.int32)
        return torch.fake_quantize_per_channel_affine(w, scales, zeros, 0, -128, 127)

    def forward(self, x):
        x = F.relu(F.conv2d(x, self.wq(self.c1.weight), self.c1.bias, padding=1))
        x = torch.fake_quantize_per_tensor_affine(x, 1 / 16, 0, 0, 255)
        x = F.relu(F.conv2d(x, self.wq(self.c2.weight), self.c2.bias, stride=2, padding=1))
        x = torch.fake_quantize_per_tensor_affine(x, 1 / 8, 3, 0, 255)
        return self.fc(torch.flatten(x, 1))


def dense_macs(model, input_shape):
    """Sum over Conv2d/Linear of (#outputs x fan_in) for one frame, batch 1."""
    total = [0]
    hooks = []

    def hook(mod, inp, out):
        if isinstance(mod, nn.Conv2d):
            fan_in = (mod.in_channels // mod.groups) * mod.kernel_size[0] * mod.kernel_size[1]
        else:
            fan_in = mod.in_features
        total[0] += out.numel() * fan_in

    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            hooks.append(m.register_forward_hook(hook))
    with torch.no_grad():
        model(torch.zeros((1,) + tuple(input_shape)))
    for h in hooks:
        h.remove()
    return total[0]


# --------------------------------------------------------------------------
# hand-built Gemm
# --------------------------------------------------------------------------


def build_gemm_alpha_beta():
    seed_all(0)
    name = "gemm_alpha_beta"
    alpha, beta = 0.5, 2.0
    w = (np.random.randn(6, 4) * 0.5).astype(np.float32)   # [K, N], transB = 0
    c = (np.random.randn(4) * 0.5).astype(np.float32)      # 1-D bias, broadcast
    node = helper.make_node("Gemm", ["input", "W", "C"], ["output"], name="Gemm_0",
                            alpha=alpha, beta=beta, transA=0, transB=0)
    graph = helper.make_graph(
        [node], "gemm_alpha_beta",
        inputs=[helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 6])],
        outputs=[helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 4])],
        initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(c, "C")],
    )
    model = helper.make_model(graph, producer_name="evsim make_fixtures.py",
                              opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 6   # opset 11 era IR version
    onnx.checker.check_model(model)
    path = os.path.join(OUT_DIR, name + ".onnx")
    onnx.save(model, path)

    video = make_video((6,)).numpy().astype(np.float32)
    outputs = np.stack([
        (alpha * (video[t][None, :].astype(np.float64) @ w.astype(np.float64))
         + beta * c.astype(np.float64))[0]
        for t in range(T)
    ]).astype(np.float32)
    save_npy(os.path.join(OUT_DIR, name + ".input.npy"), video)
    save_npy(os.path.join(OUT_DIR, name + ".output.npy"), outputs)
    ops = op_types(path)
    MANIFEST.append({
        "name": name,
        "opset": 11,
        "input_shape": [6],
        "output_shape": [4],
        "ops": ops,
        "description": "Hand-built with onnx.helper (not torch): single Gemm, alpha=0.5, "
                       "beta=2.0, transA=0, transB=0, B=W[6,4] initializer, 1-D bias C[4]. "
                       "Expected outputs computed with numpy: 0.5*x@W + 2*C.",
        "frames": T,
    })
    print(f"[{name}] opset 11 in [6] out [4]\n    ops: {ops}")


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    print(f"torch {torch.__version__}, onnx {onnx.__version__}, numpy {np.__version__}, "
          f"dynamo kw: {_EXPORT_HAS_DYNAMO}")

    # (name, opset, model class, input shape w/o batch, description,
    #  video kwargs, extra torch.onnx.export kwargs, manifest note)
    specs = [
        ("mlp", 13, MLP, [784],
         "784-200-200-10 Linear+ReLU MLP with Softmax(dim=1) output.",
         dict(positive=True), None, None),
        ("mlp_flatten", 11, MLPFlatten, [1, 28, 28],
         "x.view(x.size(0), -1) flatten of a [1,1,28,28] image, Linear(784,32), ReLU, "
         "Linear(32,10); no softmax. With a static batch dim the exporter folds the "
         "size(0) subgraph, leaving Constant -> Reshape.",
         dict(positive=True), None, None),
        ("mlp_flatten_dynamic", 11, MLPFlatten, [1, 28, 28],
         "Same model and weights as mlp_flatten, exported with a dynamic batch axis "
         "(dynamic_axes) so x.view(x.size(0), -1) keeps its Shape -> Gather -> Unsqueeze -> "
         "Concat -> Reshape subgraph. Expected outputs are for batch 1.",
         dict(positive=True),
         dict(dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}),
         "ONNX input/output dim 0 is the symbolic 'batch'; bind it to 1."),
        ("cnn_basic", 13, CNNBasic, [3, 16, 16],
         "Conv3x3(3->8)+BN+ReLU, MaxPool2, Conv3x3 s2 (8->16)+ReLU, Conv3x3 dilation 2 pad 2 "
         "(16->16)+ReLU, AvgPool2, torch.flatten, Linear(64,10).",
         None, None, None),
        ("cnn_group", 13, CNNGroup, [3, 16, 16],
         "Conv(3->16)+ReLU6 (Clip), grouped Conv groups=4 + BN + ReLU6, depthwise Conv "
         "groups=16 + ReLU6, 1x1 Conv(16->32)+ReLU, AdaptiveAvgPool2d(1) (GlobalAveragePool), "
         "flatten, Linear(32,10).",
         None, None, None),
        ("resnet_block", 13, ResNetBlock, [3, 16, 16],
         "Stem Conv+BN+ReLU (8ch), identity residual block, downsampling residual block "
         "(3x3 s2 main path, 1x1 s2 conv+BN shortcut), global avg pool, Linear(16,10). "
         "Default export: the exporter fuses every BN into the preceding Conv.",
         None, None, None),
        ("resnet_block_bn", 13, ResNetBlock, [3, 16, 16],
         "Same model and weights as resnet_block, exported with "
         "training=TrainingMode.PRESERVE on the eval()-mode model, which skips the exporter's "
         "Conv+BN fusion: every Conv is followed by an inference BatchNormalization node "
         "(random running stats), so the importer's own BN folding is exercised.",
         None, dict(training=torch.onnx.TrainingMode.PRESERVE),
         "Same expected outputs as resnet_block."),
        ("concat_upsample", 11, ConcatUpsample, [3, 16, 16],
         "U-Net-ish: Conv+ReLU (skip), MaxPool2, Conv+ReLU, nn.Upsample(x2, nearest) -> "
         "Resize, Concat with skip along channels, Conv -> 4x16x16 feature map.",
         None, None, None),
        ("activations", 13, Activations, [3, 12, 12],
         "Conv+LeakyReLU(0.1); a=sigmoid(conv1), b=tanh(conv2), y=a*b, y*0.5, y/3.0; "
         "Hardsigmoid(conv3(y)) + Hardswish(conv4(y)); standalone BatchNorm2d after the Add; "
         "MaxPool2, flatten, Linear, Softmax(dim=1).",
         dict(noise=0.5), None, None),
        ("pad_transpose", 13, PadTranspose, [2, 8, 10],
         "F.pad(x,(1,2,0,1)) zero pad, Conv3x3+ReLU, permute(0,1,3,2) (Transpose), "
         "Conv3x3 pad1+ReLU, reshape(1,-1), torch.matmul with parameter [308,5] + bias.",
         None, None, None),
        ("clip_opset11", 11, ClipOpset11, [3, 10, 10],
         "Conv, clamp(0,6), Conv, clamp(-1,1) (opset-11 Clip with min/max as inputs), "
         "flatten, Linear(216,10).",
         None, None, None),
        ("gemm_trans", 11, GemmTrans, [6],
         "nn.Linear(6,8)+ReLU+nn.Linear(8,4): Gemm with transB=1.",
         None, None, None),
        ("modern_acts", 13, ModernActs, [3, 12, 12],
         "Conv+ELU, Conv+PReLU(8 slopes), 1x1 Conv+GELU (exact: Div, Erf, Add, Mul, Mul), "
         "torch.chunk into two 4-channel halves (Slice), Conv+Softplus on one and Mish on the "
         "other, Concat, SELU(conv) + CELU(conv, alpha 0.5), z[:, :, ::2, 1::2] (Slice with "
         "steps), SiLU(z.mean((2, 3))) (ReduceMean, keepdims 0), Linear(8,6), LogSoftmax.",
         dict(noise=0.5), None, None),
        ("se_block", 13, SEBlock, [3, 10, 10],
         "MobileNetV3 block: Conv+BN+Hardswish stem, 1x1 expand and 3x3 depthwise Conv+BN+"
         "Hardswish, squeeze-and-excitation (GlobalAveragePool, 1x1 Conv, ReLU, 1x1 Conv, "
         "HardSigmoid, Mul broadcasting [1,16,1,1] over [1,16,10,10]), 1x1 project Conv+BN, "
         "residual Add with the stem, GlobalAveragePool, Linear(8,5).",
         None, None, None),
        ("unet_decoder", 13, UNetDecoder, [3, 12, 12],
         "U-Net: Conv+ReLU (skip, 8ch 12x12), Conv s2+BN+ReLU (16ch 6x6), ConvTranspose2d(16,8,k2,s2), "
         "Concat with the skip, Conv+ReLU, ConvTranspose2d(8,4,k3,s2,pad 1,output_padding 1,groups 2) "
         "to 24x24, ReLU, 1x1 Conv head -> 2x24x24.",
         None, None, None),
        ("convtranspose_1d", 13, ConvTranspose1D, [2, 16],
         "Conv1d(2,4,3,pad 1)+ReLU, ConvTranspose1d(4,3,k4,s2,pad 1,dilation 2), BatchNorm1d "
         "(folded into the ConvTranspose), Tanh -> 3x35.",
         None, None, None),
        ("bilinear_resize", 13, BilinearResize, [3, 9, 11],
         "Conv+ReLU, bilinear x2 (align_corners False), Conv+ReLU, bilinear to 7x13 "
         "(align_corners True), Conv+ReLU, bilinear x0.5, ReLU, 1x1 Conv -> 2x3x6.",
         None, None, None),
        ("qdq_cnn", 13, QDQNet, [3, 10, 10],
         "Fake-quantized CNN: Conv with per-channel int8 weights (QuantizeLinear -> "
         "DequantizeLinear on the initializer, axis 0) + ReLU, uint8 activation QDQ (scale "
         "1/16), Conv s2 likewise + ReLU, uint8 QDQ with zero point 3 (scale 1/8), flatten, "
         "Linear(200,6). Power-of-two scales.",
         dict(noise=0.5), None, None),
        ("elementwise", 13, Elementwise, [12],
         "MLP with elementwise math on values: sqrt(|h| + 0.5) + 1/(h*h + 1), "
         "log(exp(clamp(.)) + 1), erf(.) + pow(., 2), Concat, GELU (exact: Erf), "
         "GELU(approximate='tanh') (Pow, Tanh), Linear(8,4).",
         dict(noise=0.5), None, None),
    ]

    failures = []
    for name, opset, cls, in_shape, desc, vk, ek, note in specs:
        seed_all(0)
        try:
            model = cls()
            kaiming_init(model)
            randomize_bn(model)
            build_torch_fixture(name, opset, model, in_shape, desc, video_kwargs=vk,
                                export_kwargs=ek, note=note)
        except Exception as e:  # report and continue
            failures.append((name, repr(e)))
            print(f"[{name}] FAILED: {e!r}", file=sys.stderr)

    try:
        build_gemm_alpha_beta()
    except Exception as e:
        failures.append(("gemm_alpha_beta", repr(e)))
        print(f"[gemm_alpha_beta] FAILED: {e!r}", file=sys.stderr)

    # benchmark CNN
    seed_all(0)
    bench = CNNBench()
    kaiming_init(bench)
    randomize_bn(bench)
    bench.eval()
    macs = dense_macs(bench, [3, 128, 128])
    print(f"[cnn_bench] dense MACs per frame: {macs} ({macs / 1e6:.1f} M)")
    assert macs >= 1e8, "cnn_bench must have >= 1e8 dense MACs per frame"
    build_torch_fixture(
        "cnn_bench", 13, bench, [3, 128, 128],
        "Benchmark CNN (random kaiming init, BN with random stats): Conv(3,32,3,s2)+BN+ReLU, "
        "Conv(32,64,3)+BN+ReLU, MaxPool2, residual block at 64ch (two 3x3 conv+BN, add, ReLU), "
        "Conv(64,128,3,s2)+BN+ReLU, Conv(128,128,3)+BN+ReLU, GlobalAvgPool, Linear(128,10). "
        f"Dense MACs per frame: {macs}.",
        frames=2, video_kwargs=dict(positive=True))
    MANIFEST[-1]["dense_macs"] = macs

    # verify
    for entry in MANIFEST:
        path = os.path.join(OUT_DIR, entry["name"] + ".onnx")
        onnx.checker.check_model(onnx.load(path))
        sizes = {}
        for suffix in (".onnx", ".input.npy", ".output.npy"):
            p = os.path.join(OUT_DIR, entry["name"] + suffix)
            if os.path.exists(p):
                sizes[suffix] = os.path.getsize(p)
        print(f"checked {entry['name']}.onnx OK; sizes {sizes}")

    with open(os.path.join(OUT_DIR, "manifest.json"), "w") as f:
        json.dump(MANIFEST, f, indent=2)
        f.write("\n")

    if failures:
        print("FAILURES:", failures, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
