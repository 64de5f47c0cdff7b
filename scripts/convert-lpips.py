#!/usr/bin/env python3
"""Convert the official LPIPS weights into pmg's LPIPS folder layout (model.onnx + heads.json).

Needs PyTorch + torchvision with internet access or cached ImageNet backbone weights; it cannot run
on pmg's build machines. Usage:

    python3 scripts/convert-lpips.py --net alex --heads weights/v0.1/alex.pth --out lpips-alex

--heads is the linear-layer file of the official PerceptualSimilarity repository
(github.com/richzhang/PerceptualSimilarity, lpips/weights/v0.1/{alex,vgg,squeeze}.pth, BSD-2-Clause).
The backbone is torchvision's ImageNet model; the taps are the ReLU outputs the original LPIPS uses.
The ScalingLayer and [-1,1] scaling are applied by pmg (src/metrics/lpips.ts), not in the graph.
"""
import argparse
import json
import os

import torch
import torchvision

# Indices into torchvision's `features` Sequential after which LPIPS takes a tap (exclusive slice ends).
TAPS = {
    'alex': [2, 5, 8, 10, 12],          # relu1..relu5
    'vgg': [4, 9, 16, 23, 30],          # relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
    'squeeze': [2, 5, 8, 10, 11, 12, 13],
}


def backbone(net):
    if net == 'alex':
        return torchvision.models.alexnet(weights='IMAGENET1K_V1').features
    if net == 'vgg':
        return torchvision.models.vgg16(weights='IMAGENET1K_V1').features
    return torchvision.models.squeezenet1_1(weights='IMAGENET1K_V1').features


class Taps(torch.nn.Module):
    def __init__(self, features, ends):
        super().__init__()
        self.slices = torch.nn.ModuleList()
        start = 0
        for end in ends:
            self.slices.append(torch.nn.Sequential(*[features[i] for i in range(start, end)]))
            start = end

    def forward(self, image):
        outs = []
        x = image
        for s in self.slices:
            x = s(x)
            outs.append(x)
        return tuple(outs)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--net', choices=sorted(TAPS), required=True)
    parser.add_argument('--heads', required=True, help='official LPIPS v0.1 .pth for this net')
    parser.add_argument('--out', required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    model = Taps(backbone(args.net), TAPS[args.net]).eval()
    names = ['tap_%d' % i for i in range(len(TAPS[args.net]))]
    dummy = torch.zeros(1, 3, 64, 64)
    dynamic = {'image': {0: 'batch', 2: 'height', 3: 'width'}}
    dynamic.update({n: {0: 'batch', 2: 'h%d' % i, 3: 'w%d' % i} for i, n in enumerate(names)})
    torch.onnx.export(model, dummy, os.path.join(args.out, 'model.onnx'), input_names=['image'],
                      output_names=names, dynamic_axes=dynamic, opset_version=17)
    state = torch.load(args.heads, map_location='cpu')
    heads = [state['lin%d.model.1.weight' % i].reshape(-1).tolist() for i in range(len(names))]
    with open(os.path.join(args.out, 'heads.json'), 'w') as f:
        json.dump({'net': args.net, 'version': '0.1', 'taps': names, 'heads': heads}, f)
    print('wrote', args.out)


if __name__ == '__main__':
    main()
