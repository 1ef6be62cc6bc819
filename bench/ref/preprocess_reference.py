#!/usr/bin/env python3
"""CLIP preprocessing with PIL, as HF's CLIPImageProcessor (and torchvision) compute it.

Usage: preprocess_reference.py --size S [--crop floor|round] IMAGE...

Prints one JSON object: {"pil": VERSION, "size": S, "crop": C, "images": [{"path", "width", "height",
"resized": [w, h], "uint8": BASE64 (S*S*3 bytes, HWC), "normalized": BASE64 (float32 CHW, little
endian)}]}. "uint8" is the image after convert("RGB"), the shortest-side bicubic resize and the centre
crop; "normalized" is that scaled to [0, 1] and normalised with CLIP's mean and std.
"""

import argparse
import base64
import json
import sys

import numpy as np
import PIL
from PIL import Image

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], dtype=np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], dtype=np.float32)


def shortest_side(width, height, size):
    # HF get_resize_output_image_size(default_to_square=False) and torchvision Resize(int): the longer
    # side is truncated.
    if width <= height:
        return size, int(size * height / width)
    return int(size * width / height), size


def offset(extent, crop, convention):
    if convention == "floor":  # HF center_crop
        return (extent - crop) // 2
    return int(round((extent - crop) / 2.0))  # torchvision center_crop


def preprocess(path, size, convention):
    image = Image.open(path).convert("RGB")
    width, height = image.size
    new_w, new_h = shortest_side(width, height, size)
    resized = image.resize((new_w, new_h), resample=Image.BICUBIC)
    left = offset(new_w, size, convention)
    top = offset(new_h, size, convention)
    cropped = np.asarray(resized, dtype=np.uint8)[top : top + size, left : left + size, :]
    scaled = cropped.astype(np.float64) * (1 / 255)
    normalized = ((scaled.astype(np.float32) - MEAN) / STD).transpose(2, 0, 1).astype("<f4")
    return {
        "path": path,
        "width": width,
        "height": height,
        "resized": [new_w, new_h],
        "uint8": base64.b64encode(np.ascontiguousarray(cropped).tobytes()).decode(),
        "normalized": base64.b64encode(np.ascontiguousarray(normalized).tobytes()).decode(),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--crop", choices=["floor", "round"], default="floor")
    parser.add_argument("images", nargs="+")
    args = parser.parse_args()
    out = {
        "pil": PIL.__version__,
        "size": args.size,
        "crop": args.crop,
        "images": [preprocess(p, args.size, args.crop) for p in args.images],
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
