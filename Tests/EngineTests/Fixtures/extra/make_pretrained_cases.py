#!/usr/bin/env python3
"""Writes the Pretrained golden cases (`pretrained_*/`): spec.json, the checkpoint files, and the oracle's output.

    cd Tests/EngineTests/Fixtures/extra
    /work/main/.venv/bin/python make_pretrained_cases.py [/work/shared/golden/torchref.py]

Every checkpoint is written by real torch (`torch.save`, zip and legacy formats) or by the official safetensors
library, then the case is run through the real oracle, `torchref.main(CASE)` (torch + MMEngine's PretrainedInit,
`load_checkpoint` / `_load_checkpoint_with_prefix` + `load_state_dict(strict=False)`), which writes
expected.safetensors and expected.json. Two additions, both outside what torchref judges:

- MMEngine 0.10.7 reads local checkpoints with `torch.load` only, which cannot open a `.safetensors` file. For
  the `.safetensors` case the oracle's local loader is extended to read them with `safetensors.torch.load_file`
  (the same state dict `torch.load` would return for the equivalent `.pth`); everything after loading is MMEngine's.
- `expected_pretrained.json`: per Pretrained application, in order, MMEngine's log lines parsed back into the
  keys it reported (`missing keys in source state_dict`, `unexpected key in source state_dict`, `size mismatch
  for ...`). The engine's init report must list the same in its `pretrained` section.

Cases are small (each folder < 50 KB) and deterministic. make_cases.py leaves `pretrained_*` folders alone.
"""
import collections
import importlib.util
import json
import logging
import os
import shutil
import sys

import torch
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
TORCHREF = sys.argv[1] if len(sys.argv) > 1 else '/work/shared/golden/torchref.py'

spec = importlib.util.spec_from_file_location('torchref', TORCHREF)
torchref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(torchref)

from mmengine.logging import MMLogger  # noqa: E402
from mmengine.runner import checkpoint as mmckpt  # noqa: E402

_local_loader = mmckpt.load_from_local


def load_from_local_or_safetensors(filename, map_location):
    """MMEngine's load_from_local, plus `.safetensors` read with the official library."""
    if filename.endswith('.safetensors'):
        if not os.path.isfile(os.path.expanduser(filename)):
            raise FileNotFoundError(f'{filename} can not be found.')
        return collections.OrderedDict(load_file(filename))
    return _local_loader(filename, map_location)


mmckpt.CheckpointLoader._schemes[''] = load_from_local_or_safetensors


class Capture(logging.Handler):
    """MMEngine's Pretrained log lines → [{checkpoint, prefix, missing, unexpected, size_mismatch}]."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.events = []

    def emit(self, record):
        msg = record.getMessage()
        if msg.startswith('load model from: '):
            self.events.append(dict(checkpoint=msg[len('load model from: '):], prefix=None,
                                    missing=[], unexpected=[], size_mismatch=[]))
        elif msg.startswith('load ') and ' in model from: ' in msg:
            prefix, ckpt = msg[len('load '):].split(' in model from: ', 1)
            self.events.append(dict(checkpoint=ckpt, prefix=prefix, missing=[], unexpected=[], size_mismatch=[]))
        elif msg.startswith('The model and loaded state dict do not match exactly'):
            e = self.events[-1]
            for line in msg.split('\n'):
                if line.startswith('unexpected key in source state_dict: '):
                    e['unexpected'] = line[len('unexpected key in source state_dict: '):].split(', ')
                elif line.startswith('missing keys in source state_dict: '):
                    e['missing'] = line[len('missing keys in source state_dict: '):].split(', ')
                elif line.startswith('size mismatch for '):
                    e['size_mismatch'].append(line)


CASES = collections.OrderedDict()


def case(name, model, files, seed=0, dtype=None):
    """files: {file name: writer(path)}; each writer saves one checkpoint."""
    assert name.startswith('pretrained_') and name not in CASES
    s = {'seed': seed, 'model': model}
    if dtype:
        s['dtype'] = dtype
    CASES[name] = (s, files)


def net(children=None, init_cfg=None, type='Net', **extra):
    node = {'type': type}
    if init_cfg is not None:
        node['init_cfg'] = init_cfg
    if children is not None:
        node['children'] = children
    node.update(extra)
    return node


def lin(i, o, **kw):
    return dict(type='Linear', in_features=i, out_features=o, **kw)


def pre(checkpoint, prefix=None):
    c = {'type': 'Pretrained', 'checkpoint': checkpoint}
    if prefix is not None:
        c['prefix'] = prefix
    return c


G = torch.Generator().manual_seed(20240611)


def values_for(model, dtype=torch.float32, add=None, drop=(), reshape=None, key_prefix=''):
    """A state dict shaped like `model`'s (built by the oracle's own builder), with fresh values."""
    torch.manual_seed(0)
    sd = torchref.build(model).state_dict()
    out = collections.OrderedDict()
    for k, v in sd.items():
        if k in drop:
            continue
        shape = (reshape or {}).get(k, tuple(v.shape))
        if v.dtype.is_floating_point:
            t = (torch.randn(shape, generator=G) * 0.5 + 0.25).to(dtype)
        else:  # num_batches_tracked
            t = torch.full(shape, 11, dtype=v.dtype)
        out[key_prefix + k] = t
    for k, v in (add or {}).items():
        out[k] = v
    return out


def torch_save(obj, **kw):
    return lambda path: torch.save(obj, path, **kw)


def cnn():
    return net({'conv': dict(type='Conv2d', in_channels=2, out_channels=3, kernel_size=2),
                'bn': dict(type='BatchNorm2d', num_features=3),
                'fc': lin(3, 2)}, init_cfg=[pre('ckpt.pth'), dict(type='Constant', val=0.5, layer='Linear')],
               type='SmallCNN')


# --- container formats --------------------------------------------------------------------------------
m = cnn()
case('pretrained_zip', m, {'ckpt.pth': torch_save(values_for(m))})
m = cnn()
case('pretrained_legacy', m, {'ckpt.pth': torch_save(values_for(m), _use_new_zipfile_serialization=False)})
m = cnn()
case('pretrained_fp16_into_f32', m, {'ckpt.pth': torch_save(values_for(m, torch.float16))})
m = cnn()
case('pretrained_bf16_into_f32', m, {'ckpt.pth': torch_save(values_for(m, torch.bfloat16))})
m = cnn()
case('pretrained_f64_into_f32_out_f16', m, {'ckpt.pth': torch_save(values_for(m, torch.float64))}, dtype='float16')
m = cnn()
m['init_cfg'][0]['checkpoint'] = 'ckpt.safetensors'
case('pretrained_safetensors', m, {'ckpt.safetensors': lambda p, sd=values_for(m): save_file(dict(sd), p)})
m = cnn()
case('pretrained_legacy_bf16_out', m, {'ckpt.pth': torch_save(values_for(m), _use_new_zipfile_serialization=False)},
     dtype='bfloat16')


# Tied weights: two keys share one storage; a third is a transposed view of it.
def tied_checkpoint():
    emb = torch.randn(5, 3, generator=G)
    return collections.OrderedDict([('embed.weight', emb), ('head.weight', emb), ('proj.weight', emb.t()),
                                    ('proj.bias', torch.randn(5, generator=G)[1:4])])


case('pretrained_tied_weights',
     net({'embed': dict(type='Embedding', num_embeddings=5, embedding_dim=3),
          'head': lin(3, 5, bias=False), 'proj': lin(5, 3)}, init_cfg=pre('ckpt.pth'), type='Tied'),
     {'ckpt.pth': torch_save(tied_checkpoint())})

# MMEngine runner checkpoints: {"meta": ..., "state_dict": ...}, and DataParallel's `module.` keys.
m = cnn()
meta = {'epoch': 3, 'iter': 120, 'mmengine_version': '0.10.7', 'dataset_meta': {'classes': ['cat', 'dog']}}
case('pretrained_mmengine_meta_state_dict', m,
     {'ckpt.pth': torch_save({'meta': meta, 'state_dict': values_for(m), 'message_hub': {'step': 7}})})
m = cnn()
case('pretrained_module_prefixed_keys', m,
     {'ckpt.pth': torch_save({'meta': meta, 'state_dict': values_for(m, key_prefix='module.')})})


# --- prefix ---------------------------------------------------------------------------------------------
def detector(prefix):
    return net({'backbone': net({'conv': dict(type='Conv2d', in_channels=1, out_channels=2, kernel_size=2),
                                 'fc': lin(2, 3)}, init_cfg=pre('detector.pth', prefix), type='Backbone'),
                'head': lin(3, 2)}, init_cfg=dict(type='Normal', std=0.02, layer='Linear'), type='Detector')


def detector_checkpoint():
    d = detector('backbone.')
    sd = values_for(d)
    sd['backbone_extra.weight'] = torch.ones(1)  # shares the text 'backbone' but not the 'backbone.' prefix
    return {'meta': {'epoch': 1}, 'state_dict': sd}


case('pretrained_prefix_with_dot', detector('backbone.'), {'detector.pth': torch_save(detector_checkpoint())}, seed=3)
case('pretrained_prefix_without_dot', detector('backbone'), {'detector.pth': torch_save(detector_checkpoint())}, seed=3)

# --- strict=False reporting ---------------------------------------------------------------------------
m = cnn()
case('pretrained_size_mismatch', m,
     {'ckpt.pth': torch_save(values_for(m, reshape={'conv.weight': (3, 2, 3, 3), 'fc.bias': (3,), 'bn.running_var': (4,)}))})


def missing_unexpected():
    model = net({'a': net({'fc': lin(2, 2), 'bn': dict(type='BatchNorm1d', num_features=2)}, type='A'),
                 'b': lin(2, 3)}, init_cfg=pre('ckpt.pth'), type='MU',
                parameters={'scale': {'shape': [2], 'init': {'type': 'Constant', 'val': 3}}})
    sd = values_for(model, drop=('a.fc.bias', 'a.bn.num_batches_tracked', 'a.bn.running_mean', 'scale'))
    # Unexpected keys, deliberately in another order than the modules: torch reports them module by module.
    extra = collections.OrderedDict([
        ('b.extra', torch.ones(2)), ('zzz_top', torch.ones(1)), ('a.fc.weight_orig', torch.ones(2, 2)),
        ('a.nothere.weight', torch.ones(1)), ('b.weight.sub', torch.ones(1)), ('a', torch.ones(1))])
    out = collections.OrderedDict(list(extra.items())[:2])
    out.update(sd)
    out.update(list(extra.items())[2:])
    return model, out


mu_model, mu_sd = missing_unexpected()
case('pretrained_missing_and_unexpected', mu_model, {'ckpt.pth': torch_save(mu_sd)}, seed=5)

# --- where Pretrained runs ----------------------------------------------------------------------------
head_sd = collections.OrderedDict([('weight', torch.randn(2, 3, generator=G)), ('bias', torch.randn(2, generator=G))])
case('pretrained_in_override',
     net({'body': lin(4, 3), 'head': lin(3, 2)},
         init_cfg=dict(type='Kaiming', layer='Linear', override=dict(name='head', type='Pretrained', checkpoint='head.pth')),
         type='OverrideNet'),
     {'head.pth': torch_save(head_sd)}, seed=7)
case('pretrained_in_override_with_prefix',
     net({'body': lin(4, 3), 'head': lin(3, 2)},
         init_cfg=[dict(type='Xavier', layer='Linear', override=dict(name='head', type='Pretrained', checkpoint='full.pth',
                                                                       prefix='head'))],
         type='OverrideNet'),
     {'full.pth': torch_save(collections.OrderedDict([('head.weight', head_sd['weight']), ('head.bias', head_sd['bias']),
                                                      ('body.weight', torch.randn(3, 4, generator=G))]))}, seed=7)


def order_model():
    child = net({'x': lin(2, 2), 'y': lin(2, 2)}, init_cfg=[dict(type='Normal', std=3.0, layer='Linear'),
                                                             pre('child.pth')], type='Child')
    return net({'child': child, 'z': lin(2, 2)},
               init_cfg=[pre('root.pth'), dict(type='Constant', val=2.0, layer='Linear')], type='Root')


om = order_model()
root_sd = values_for(om, drop=('child.y.weight', 'child.y.bias', 'child.x.bias'))
child_sd = collections.OrderedDict([('x.weight', torch.randn(2, 2, generator=G) + 10),
                                    ('x.bias', torch.randn(2, generator=G) + 10)])
case('pretrained_order_vs_children', om, {'root.pth': torch_save(root_sd), 'child.pth': torch_save(child_sd)}, seed=11)

# --- errors -------------------------------------------------------------------------------------------
m = cnn()
m['init_cfg'][0]['checkpoint'] = 'not_there.pth'
case('pretrained_error_missing_file', m, {})
case('pretrained_error_prefix_absent', detector('neck'), {'detector.pth': torch_save(detector_checkpoint())}, seed=3)


def main():
    cap = Capture()
    for d in os.listdir(HERE):
        p = os.path.join(HERE, d)
        if d.startswith('pretrained_') and os.path.isdir(p) and d not in CASES:
            shutil.rmtree(p)
    for name, (s, files) in CASES.items():
        d = os.path.join(HERE, name)
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
        with open(os.path.join(d, 'spec.json'), 'w') as f:
            json.dump(s, f, indent=1)
        for fname, write in files.items():
            write(os.path.join(d, fname))
        logger = MMLogger.get_current_instance()
        logger.addHandler(cap)
        cap.events = []
        cwd = os.getcwd()
        try:
            r = torchref.main(d)
        finally:
            os.chdir(cwd)
            logger.removeHandler(cap)
        if not r['error']:
            with open(os.path.join(d, 'expected_pretrained.json'), 'w') as f:
                json.dump(cap.events, f, indent=1)
        size = sum(os.path.getsize(os.path.join(d, x)) for x in os.listdir(d))
        assert size < 50_000, (name, size)
        print(name, 'ERROR ' + r['error'] if r['error'] else f"{len(r['keys'])} tensors", f'({size} bytes)')


if __name__ == '__main__':
    main()
