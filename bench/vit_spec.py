#!/usr/bin/env python3
"""A ViT-style model spec (timm/MMPretrain layout) whose weights are MMEngine TruncNormal:
    python vit_spec.py NLAYERS DMODEL [IMG PATCH CLASSES] > spec.json
Linear weights: TruncNormal(std=0.02, bias=0) via init_cfg; cls_token / pos_embed: TruncNormal(std=0.02)
parameters; LayerNorm: Constant(1, bias 0); patch embedding Conv2d: Kaiming (fan_in, linear, uniform)."""
import json
import sys


def lin(i, o, **kw):
    return dict(type='Linear', in_features=i, out_features=o, **kw)


def vit(n_layer=12, d=768, img=224, patch=16, classes=1000, seed=0):
    tokens = (img // patch) ** 2 + 1
    blocks = {}
    for i in range(n_layer):
        blocks[str(i)] = {'type': 'TransformerEncoderLayer', 'children': {
            'ln1': {'type': 'LayerNorm', 'normalized_shape': d, 'eps': 1e-6},
            'attn': {'type': 'Attention', 'children': {
                'qkv': lin(d, 3 * d), 'proj': lin(d, d)}},
            'ln2': {'type': 'LayerNorm', 'normalized_shape': d, 'eps': 1e-6},
            'ffn': {'type': 'FFN', 'children': {
                'fc1': lin(d, 4 * d), 'act': {'type': 'GELU'}, 'fc2': lin(4 * d, d)}}}}
    tn = {'type': 'TruncNormal', 'std': 0.02}
    model = {'type': 'VisionTransformer',
             'parameters': {'cls_token': {'shape': [1, 1, d], 'init': tn},
                            'pos_embed': {'shape': [1, tokens, d], 'init': tn}},
             'children': {
                 'patch_embed': {'type': 'PatchEmbed', 'children': {
                     'projection': {'type': 'Conv2d', 'in_channels': 3, 'out_channels': d,
                                    'kernel_size': patch, 'stride': patch}}},
                 'layers': {'type': 'ModuleList', 'children': blocks},
                 'ln1': {'type': 'LayerNorm', 'normalized_shape': d, 'eps': 1e-6},
                 'head': lin(d, classes)},
             'init_cfg': [
                 {'type': 'TruncNormal', 'std': 0.02, 'bias': 0, 'layer': 'Linear'},
                 {'type': 'Kaiming', 'mode': 'fan_in', 'nonlinearity': 'linear',
                  'distribution': 'uniform', 'layer': 'Conv2d'},
                 {'type': 'Constant', 'val': 1, 'bias': 0, 'layer': 'LayerNorm'}]}
    return {'seed': seed, 'model': model}


if __name__ == '__main__':
    a = [int(x) for x in sys.argv[1:]]
    print(json.dumps(vit(*a)))
