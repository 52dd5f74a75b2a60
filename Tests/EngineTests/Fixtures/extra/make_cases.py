#!/usr/bin/env python3
"""Writes the spec.json of every extra golden case (run torchref.py on them afterwards).

    cd Tests/EngineTests/Fixtures/extra
    python make_cases.py                                            # writes <case>/spec.json
    python /work/shared/golden/torchref.py $(python make_cases.py --dirs)   # expected.safetensors + expected.json
(torchref.py needs absolute folder paths: it chdirs into each case.)

Each case is small (a few KB) and targets one behaviour the shared golden cases do not pin down:
leaf types with non-default arguments, initializer arguments, layer matching by base names,
override forms, nested init_cfgs, container parameters/buffers, user init_weights steps,
output dtypes, seeds, MMEngine's mean-changed init_info quirk, and error cases.
"""
import json
import os
# torch computes erfinv_ and orthogonal_ with Intel MKL, whose code path depends on the CPU: pin the one the
# service reproduces (docs/spec.md "MKL"), before torch loads MKL.
os.environ.setdefault("MKL_ENABLE_INSTRUCTIONS", "SSE4_2")

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = {}


def case(name, model, seed=0, dtype=None):
    spec = {'seed': seed, 'model': model}
    if dtype is not None:
        spec['dtype'] = dtype
    assert name not in CASES, name
    CASES[name] = spec


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


def conv(d, i, o, k, **kw):
    return dict(type=f'Conv{d}d', in_channels=i, out_channels=o, kernel_size=k, **kw)


def convT(d, i, o, k, **kw):
    return dict(type=f'ConvTranspose{d}d', in_channels=i, out_channels=o, kernel_size=k, **kw)


# ---------------------------------------------------------------- leaves, non-default arguments
case('leaf_conv_groups', net({
    'c3': conv(3, 4, 6, [1, 2, 3], groups=2),
    't3': convT(3, 4, 6, 2, groups=2, bias=False),
    'c1': conv(1, 3, 5, 3, bias=False, padding_mode='reflect'),
    't1': convT(1, 6, 3, 3, groups=3, stride=2, output_padding=1),
    't2': convT(2, 2, 4, [3, 1], dilation=2),
    'c2': conv(2, 4, 4, 3, groups=4, stride=2, padding=1, dilation=1),
}), seed=3)
case('leaf_bilinear', net({
    'b0': dict(type='Bilinear', in1_features=3, in2_features=4, out_features=2, bias=False),
    'b1': dict(type='Bilinear', in1_features=2, in2_features=3, out_features=5),
    'b2': dict(type='Bilinear', in1_features=4, in2_features=0, out_features=3),
}), seed=5)
case('leaf_norms', net({
    'ln_nobias': dict(type='LayerNorm', normalized_shape=[2, 3], bias=False),
    'ln_noaffine': dict(type='LayerNorm', normalized_shape=4, elementwise_affine=False),
    'ln_scalar': dict(type='LayerNorm', normalized_shape=[]),
    'gn_noaffine': dict(type='GroupNorm', num_groups=2, num_channels=4, affine=False),
    'gn': dict(type='GroupNorm', num_groups=1, num_channels=3, eps=1e-3),
    'rms': dict(type='RMSNorm', normalized_shape=[3]),
    'rms_noaffine': dict(type='RMSNorm', normalized_shape=3, elementwise_affine=False),
    'in1_affine': dict(type='InstanceNorm1d', num_features=3, affine=True),
    'in2_track': dict(type='InstanceNorm2d', num_features=2, track_running_stats=True),
    'in3': dict(type='InstanceNorm3d', num_features=2),
    'sbn': dict(type='SyncBatchNorm', num_features=3),
    'bn1_noaffine': dict(type='BatchNorm1d', num_features=3, affine=False),
    'bn2_notrack': dict(type='BatchNorm2d', num_features=3, track_running_stats=False, momentum=None),
    'bn3': dict(type='BatchNorm3d', num_features=2, eps=1e-3, momentum=0.01),
}), seed=1)
case('leaf_norms_random_init', net({
    'ln': dict(type='LayerNorm', normalized_shape=[2, 3], bias=False),
    'gn': dict(type='GroupNorm', num_groups=2, num_channels=4),
    'gn_noaffine': dict(type='GroupNorm', num_groups=2, num_channels=4, affine=False),
    'rms': dict(type='RMSNorm', normalized_shape=[5]),
    'in1': dict(type='InstanceNorm1d', num_features=3, affine=True),
    'sbn': dict(type='SyncBatchNorm', num_features=20),
    'bn': dict(type='BatchNorm1d', num_features=17),
}, init_cfg=[dict(type='Normal', mean=1, std=0.02, bias=0.5,
                  layer=['_BatchNorm', 'GroupNorm', 'LayerNorm', 'RMSNorm', '_InstanceNorm'])]), seed=9)
case('leaf_embedding_small_spare', net({
    'e0': dict(type='Embedding', num_embeddings=3, embedding_dim=5),       # 15 < 16: per-element, leaves a spare
    'e1': dict(type='Embedding', num_embeddings=1, embedding_dim=3),       # consumes the spare first
    'e2': dict(type='Embedding', num_embeddings=4, embedding_dim=4, padding_idx=-1),  # 16: fill path
    'bag': dict(type='EmbeddingBag', num_embeddings=5, embedding_dim=3, padding_idx=-2, mode='sum'),
    'e3': dict(type='Embedding', num_embeddings=2, embedding_dim=1, padding_idx=0),
    'e4': dict(type='Embedding', num_embeddings=7, embedding_dim=3, max_norm=1.0, scale_grad_by_freq=True),
    'lin': lin(3, 2),
}), seed=7)
case('leaf_embedding_odd_chain', net({
    'a': dict(type='Embedding', num_embeddings=1, embedding_dim=1),
    'b': dict(type='Embedding', num_embeddings=1, embedding_dim=1),
    'c': dict(type='Embedding', num_embeddings=1, embedding_dim=1),
    'd': dict(type='Embedding', num_embeddings=5, embedding_dim=7),
    'e': dict(type='Embedding', num_embeddings=1, embedding_dim=5),
}), seed=12345)
case('leaf_mha_small_bias_kv', net({
    'mha': dict(type='MultiheadAttention', embed_dim=4, num_heads=2, add_bias_kv=True),
    'emb': dict(type='Embedding', num_embeddings=1, embedding_dim=3),
}), seed=2)
case('leaf_mha_variants', net({
    'nobias_kv': dict(type='MultiheadAttention', embed_dim=8, num_heads=2, bias=False, kdim=3, vdim=5),
    'kv_same_k': dict(type='MultiheadAttention', embed_dim=6, num_heads=3, kdim=6, vdim=4, add_bias_kv=True),
    'big_bias_kv': dict(type='MultiheadAttention', embed_dim=16, num_heads=4, add_bias_kv=True, batch_first=True,
                        dropout=0.1, add_zero_attn=True),
    'nobias': dict(type='MultiheadAttention', embed_dim=4, num_heads=1, bias=False, add_bias_kv=True),
}), seed=4)
case('leaf_rnns', net({
    'lstm': dict(type='LSTM', input_size=3, hidden_size=4, num_layers=2, proj_size=2, bidirectional=True),
    'gru': dict(type='GRU', input_size=3, hidden_size=2, bidirectional=True, bias=False, batch_first=True),
    'rnn': dict(type='RNN', input_size=2, hidden_size=3, nonlinearity='relu', num_layers=2, dropout=0.5),
    'lstm1': dict(type='LSTM', input_size=2, hidden_size=2, bias=False),
}), seed=8)
case('leaf_prelu_misc', net({
    'p1': dict(type='PReLU'),
    'p3': dict(type='PReLU', num_parameters=3, init=0.1),
    'pi': dict(type='PReLU', num_parameters=2, init=1),
    'act': dict(type='GELU', approximate='tanh'),
    'drop': dict(type='Dropout', p=0.3),
    'pool': dict(type='MaxPool2d', kernel_size=2),
    'ap': dict(type='AdaptiveAvgPool2d', output_size=[1, 1]),
    'id': dict(type='Identity'),
    'fl': dict(type='Flatten', start_dim=1),
    'sm': dict(type='Softmax', dim=-1),
    'lr': dict(type='LeakyReLU', negative_slope=0.2),
    'up': dict(type='Upsample', scale_factor=2, mode='nearest'),
}, init_cfg=dict(type='Constant', val=0.5, layer='PReLU')), seed=0)
case('leaf_linear_zero_sizes', net({
    'l0': lin(0, 3),      # kaiming on empty: no draws; bias uniform(-0, 0) still draws 3
    'l1': lin(3, 0),      # empty weight and bias
    'l2': lin(2, 2),
}), seed=6)
case('leaf_root_is_leaf', dict(type='LSTM', input_size=2, hidden_size=3), seed=10)
case('leaf_root_mha', dict(type='MultiheadAttention', embed_dim=6, num_heads=2, kdim=2), seed=11)

# ---------------------------------------------------------------- initializers, non-default args
cnet = lambda **kw: net({
    'conv': conv(2, 3, 4, 3),
    'convt': convT(2, 2, 3, 2),
    'fc': lin(5, 3),
    'bn': dict(type='BatchNorm2d', num_features=4),
}, **kw)
case('init_kaiming_variants', cnet(init_cfg=[
    dict(type='Kaiming', a=0.2, mode='fan_in', nonlinearity='leaky_relu', distribution='uniform', layer='Conv2d', bias=0.1),
    dict(type='Kaiming', mode='fan_out', nonlinearity='tanh', layer='Linear', bias=1),
    dict(type='Kaiming', a=1, nonlinearity='selu', distribution='normal', layer='ConvTranspose2d'),
]), seed=21)
case('init_kaiming_leaky_default_a', cnet(init_cfg=[
    dict(type='Kaiming', a=0, mode='fan_in', nonlinearity='leaky_relu', layer=['Conv2d', 'Linear']),
    dict(type='Kaiming', a=0.0, mode='Fan_In', nonlinearity='sigmoid', distribution='uniform', layer='ConvTranspose2d'),
]), seed=22)
case('init_xavier_variants', cnet(init_cfg=[
    dict(type='Xavier', gain=2, layer='Conv2d'),
    dict(type='Xavier', gain=0.5, distribution='uniform', layer=['Linear', 'ConvTranspose2d'], bias=-1.5),
]), seed=23)
case('init_normal_uniform_int_float', cnet(init_cfg=[
    dict(type='Normal', mean=1, std=2, layer='Conv2d'),
    dict(type='Normal', mean=1.0, std=2.0, bias=1.0, layer='ConvTranspose2d'),
    dict(type='Uniform', a=-1, b=1, bias=1, layer='Linear'),
]), seed=24)
case('init_uniform_float_bias_prob', cnet(init_cfg=[
    dict(type='Uniform', a=-0.5, b=0.25, bias_prob=0.01, layer=['Linear', '_ConvNd']),
    dict(type='Constant', val=2, bias_prob=0.3, layer='_BatchNorm'),
]), seed=25)
case('init_truncnormal_variants', cnet(init_cfg=[
    dict(type='TruncNormal', std=0.02, a=-0.04, b=0.04, layer='Conv2d'),
    dict(type='TruncNormal', mean=1, std=2, a=0, b=3, bias=2, layer='Linear'),
    dict(type='TruncNormal', mean=0.5, layer='ConvTranspose2d'),
]), seed=126)
case('init_caffe2xavier_bias_prob', cnet(init_cfg=[
    dict(type='Caffe2Xavier', bias_prob=0.05, layer=['Conv2d', 'Linear']),
]), seed=27)
case('init_constant_float_and_int', cnet(init_cfg=[
    dict(type='Constant', val=1.0, bias=0.0, layer='_BatchNorm'),   # same values: "The value is the same"
    dict(type='Constant', val=3, bias=-2, layer='Linear'),
    dict(type='Constant', val=0.1, layer='Conv2d'),
]), seed=28)
case('init_bias_bool_and_val_bool', cnet(init_cfg=[
    dict(type='Constant', val=True, bias=False, layer='Linear'),
    dict(type='Normal', std=0.5, bias=True, layer='Conv2d'),
]), seed=29)

# ---------------------------------------------------------------- layer matching by base names
case('layer_base_names', net({
    'conv': conv(2, 2, 3, 1),
    'convt': convT(2, 3, 2, 1),         # base _ConvTransposeNd: not matched by _ConvNd
    'fc': lin(3, 3),
    'mha': dict(type='MultiheadAttention', embed_dim=4, num_heads=2),
    'ln': dict(type='LayerNorm', normalized_shape=3),
    'bn': dict(type='BatchNorm1d', num_features=3),
    'sbn': dict(type='SyncBatchNorm', num_features=3),
}, init_cfg=[
    dict(type='Constant', val=2, bias=3, layer='_ConvNd'),
    dict(type='Normal', std=0.1, bias=0.25, layer='Linear'),          # fc and mha.out_proj
    dict(type='Uniform', a=2, b=3, layer='Module'),                    # fc, ln (direct base Module), not conv
    dict(type='Constant', val=5, bias=1, layer='_BatchNorm'),
    dict(type='Constant', val=9, layer='_NormBase'),                   # grandparent: no match
    dict(type='Constant', val=7, layer='MultiheadAttention'),          # no weight/bias attribute: no-op
]), seed=31)
case('layer_ndq_linear_and_transpose', net({
    'mha': dict(type='MultiheadAttention', embed_dim=4, num_heads=1, kdim=2, vdim=3),
    'convt': convT(1, 2, 2, 2),
}, init_cfg=[
    dict(type='Xavier', layer='NonDynamicallyQuantizableLinear', bias=0.5),
    dict(type='Kaiming', layer='_ConvTransposeNd', mode='fan_in'),
]), seed=32)
case('layer_container_bases', net({
    'blk': dict(type='Block', bases=['_ConvNd', 'Mixin'], parameters={
        'weight': {'shape': [3, 2, 1]}, 'bias': {'shape': [3]}}),
    'blk2': dict(type='Block', parameters={'weight': {'shape': [2, 2]}}),
    'other': dict(type='Other', bases=['Mixin'], children={'fc': lin(2, 2)}),
}, init_cfg=[
    dict(type='Kaiming', layer='_ConvNd', bias=0.5),    # matches blk by its base name
    dict(type='Normal', std=3, layer='Block'),          # both Block containers
    dict(type='Constant', val=4, layer='Mixin'),        # blk (weight+bias) and other (nothing of its own)
]), seed=33)
case('layer_empty_list_noop', net({'fc': lin(2, 3)}, init_cfg=[
    dict(type='Constant', val=1), dict(type='Constant', val=2, layer=[])]), seed=34)

# ---------------------------------------------------------------- override
case('override_forms', net({
    'a': lin(3, 2), 'b': lin(3, 2), 'c': conv(1, 2, 2, 1), 'd': lin(2, 2),
    'sub': net({'x': lin(2, 2), 'n': dict(type='BatchNorm1d', num_features=2)}, type='Sub'),
}, init_cfg=[
    dict(type='Normal', std=0.3, bias=0.1, layer='Linear', override=[
        dict(name='a'),                                                  # name only: outer args, whole module
        dict(name='c', type='Constant', val=4, bias=5, layer='Linear'),  # layer ignored (wholemodule)
        dict(name='sub', type='Uniform', a=-1, b=1),                     # wholemodule over a container subtree
    ]),
    dict(type='Xavier', layer='Conv1d', override=dict(name='d', type='Kaiming', mode='fan_in')),
]), seed=41)
case('override_name_only_bias_prob', net({
    'cls': conv(2, 2, 3, 1), 'reg': conv(2, 2, 4, 1)},
    init_cfg=dict(type='Normal', std=0.01, bias_prob=0.01, layer='Conv2d', override=dict(name='cls'))), seed=42)
case('override_mha_out_proj_whole', net({
    'mha': dict(type='MultiheadAttention', embed_dim=4, num_heads=2),
    'emb': dict(type='Embedding', num_embeddings=3, embedding_dim=2, padding_idx=1),
}, init_cfg=dict(type='Constant', val=0, override=[
    dict(name='mha', type='Constant', val=0.5, bias=0.25),
    dict(name='emb', type='Normal', std=2)])), seed=43)
case('override_whole_normal_over_norms', net({
    'blk': net({'conv': conv(2, 2, 2, 1), 'bn': dict(type='BatchNorm2d', num_features=2),
                'gn': dict(type='GroupNorm', num_groups=1, num_channels=2),
                'pr': dict(type='PReLU', num_parameters=2)}, type='Blk'),
}, init_cfg=dict(type='Constant', val=1, layer='Conv2d', override=dict(name='blk', type='Normal', mean=2, std=0.5))), seed=44)

# ---------------------------------------------------------------- nested containers, priority
case('nested_child_wins', net({
    'stem': lin(3, 3),
    'body': net({
        'fc': lin(3, 3),
        'inner': net({'fc': lin(3, 2), 'conv': conv(1, 2, 2, 1)}, type='Inner',
                     init_cfg=dict(type='Constant', val=3, layer='Linear')),
    }, type='Body', init_cfg=[dict(type='Xavier', layer='Linear', bias=0.5)]),
}, init_cfg=[dict(type='Constant', val=1, bias=0, layer=['Linear', 'Conv1d'])]), seed=51)
case('nested_bias_zeroed_twice', net({
    'head': net({'fc': lin(4, 3), 'conv': conv(2, 2, 2, 1)}, type='Head',
                init_cfg=dict(type='Kaiming', layer=['Linear', 'Conv2d'])),   # bias=0 again: keeps ConstantInit
}, init_cfg=dict(type='Constant', val=2, bias=0, layer=['Linear', 'Conv2d'])), seed=52)
case('nested_three_levels_same_type', net({
    'l1': net({
        'l2': net({'fc': lin(2, 2)}, type='Level', init_cfg=dict(type='Normal', std=0.1, layer='Linear')),
        'fc': lin(2, 2),
    }, type='Level', init_cfg=dict(type='Uniform', layer='Linear')),
    'fc': lin(2, 2),
}, type='Level', init_cfg=dict(type='Constant', val=1, layer=['Linear', 'Level'])), seed=53)
case('nested_empty_init_cfgs', net({
    'a': net({'fc': lin(2, 2)}, type='A', init_cfg=[]),
    'b': net({'fc': lin(2, 2)}, type='B', init_cfg={}),
    'c': net({'fc': lin(2, 2)}, type='C', init_cfg=None),
}, init_cfg=[]), seed=54)

# ---------------------------------------------------------------- container parameters and buffers
case('container_params_all_inits_f64', net({
    'p': net(type='Params', parameters={
        'const': {'shape': [2, 3], 'dtype': 'float64', 'init': {'type': 'Constant', 'val': 0.1}},
        'zeros': {'shape': [2], 'dtype': 'float64', 'init': {'type': 'Zeros'}},
        'ones': {'shape': [3], 'init': {'type': 'Ones'}},
        'normal_small': {'shape': [3, 3], 'dtype': 'float64', 'init': {'type': 'Normal', 'mean': 1, 'std': 0.5}},
        'normal_big': {'shape': [5, 7], 'dtype': 'float64', 'init': {'type': 'Normal', 'std': 2.0}},
        'uniform': {'shape': [4, 5], 'dtype': 'float64', 'init': {'type': 'Uniform', 'a': -2, 'b': 3}},
        'xavier_n': {'shape': [4, 3], 'dtype': 'float64', 'init': {'type': 'Xavier', 'gain': 2}},
        'xavier_u': {'shape': [3, 2, 2], 'dtype': 'float64', 'init': {'type': 'Xavier', 'distribution': 'uniform'}},
        'kaiming_n': {'shape': [5, 4], 'dtype': 'float64', 'init': {'type': 'Kaiming'}},
        'kaiming_u': {'shape': [3, 6], 'dtype': 'float64',
                      'init': {'type': 'Kaiming', 'a': 0.1, 'mode': 'fan_in', 'nonlinearity': 'leaky_relu',
                               'distribution': 'uniform'}},
        'normal_f32_small': {'shape': [5], 'init': {'type': 'Normal'}},
        'frozen': {'shape': [2, 2], 'requires_grad': False, 'init': {'type': 'Uniform'}},
    }),
}), seed=61)
case('container_params_truncnormal_f64', net({
    'p': net(type='Params', parameters={
        'tn': {'shape': [6, 5], 'dtype': 'float64', 'init': {'type': 'TruncNormal', 'std': 0.02, 'a': -0.04, 'b': 0.04}},
        'tn32': {'shape': [40], 'init': {'type': 'TruncNormal', 'mean': 1, 'std': 3, 'a': -1, 'b': 2}},
        'after': {'shape': [3], 'init': {'type': 'Normal'}},
    }),
}), seed=62)
case('container_buffers', net({
    'b': net(type='Bufs', buffers={
        'count': {'shape': [], 'dtype': 'int64', 'fill': 7},
        'idx': {'shape': [3], 'dtype': 'int64', 'fill': -2},
        'i32': {'shape': [2], 'dtype': 'int32', 'fill': 5},
        'mask': {'shape': [2, 2], 'dtype': 'bool', 'fill': True},
        'mask0': {'shape': [3], 'dtype': 'bool'},
        'f64': {'shape': [2], 'dtype': 'float64', 'fill': 0.1},
        'f32': {'shape': [2, 1], 'fill': 0.1},
        'f16': {'shape': [2], 'dtype': 'float16', 'fill': 0.1},
        'tmp': {'shape': [4], 'fill': 3, 'persistent': False},
    }, parameters={'w': {'shape': [2], 'init': {'type': 'Normal'}}}, children={'fc': lin(2, 1)}),
}), seed=63, dtype='float16')
case('container_weight_bias_params_matched', net({
    'head': net(type='Head', parameters={'weight': {'shape': [4, 3], 'init': {'type': 'Normal'}},
                                         'bias': {'shape': [4]}, 'scale': {'shape': [1]}}),
    'buf': net(type='BufHead', buffers={'weight': {'shape': [2, 2], 'fill': 1}, 'bias': {'shape': [2]}}),
}, init_cfg=[dict(type='Kaiming', mode='fan_in', layer=['Head', 'BufHead'], bias=0.3)]), seed=64)
case('container_zero_size_params', net({
    'p': net(type='P', parameters={'empty': {'shape': [0, 3]}, 'e2': {'shape': [0]}, 'full': {'shape': [2]}},
             children={'fc': lin(2, 2)}),
    'q': net({'fc': lin(2, 0)}, type='Q'),
}, init_cfg=dict(type='Constant', val=0, layer='Conv2d')), seed=65)

# ---------------------------------------------------------------- user init_weights steps
case('steps_all_module_functions', net({
    'a': net({
        'c1': conv(2, 2, 3, 3), 'c2': conv(2, 3, 3, 1), 'fc1': lin(4, 3), 'fc2': lin(3, 5), 'fc3': lin(5, 2),
        'fc4': lin(2, 2), 'fc5': lin(2, 3, bias=False),
    }, type='Child', init_weights=[
        dict(module='c1', fn='kaiming_init', mode='fan_in', nonlinearity='leaky_relu', a=0.1, distribution='uniform'),
        dict(module='c2', fn='caffe2_xavier_init', bias=1),
        dict(module='fc1', fn='xavier_init', gain=2, distribution='uniform', bias_prob=0.2),
        dict(module='fc2', fn='normal_init', mean=0.5, std=0.1, bias=0.3),
        dict(module='fc3', fn='uniform_init', a=-3, b=-2),
        dict(module='fc4', fn='constant_init', val=4, bias=1.5),
        dict(module='fc5', fn='kaiming_init'),
    ]),
    'other': lin(2, 2),
}, init_cfg=dict(type='Constant', val=1, layer='Linear')), seed=71)
case('steps_trunc_normal_init', net({
    'a': net({'fc': lin(4, 30)}, type='TruncNormalHolder', init_weights=[
        dict(module='fc', fn='trunc_normal_init', std=0.02, a=-0.03, b=0.03, bias_prob=0.5)]),
}), seed=72)
case('steps_params_nested_and_root', net({
    'blk': net({
        'inner': net({'fc': lin(3, 3)}, type='Inner', parameters={'gamma': {'shape': [3]}},
                     init_weights=[dict(param='gamma', type='Constant', val=0)]),  # already 0: no change
        'fc': lin(3, 3),
    }, type='Blk', parameters={'alpha': {'shape': [2, 2]}}, init_weights=[
        dict(param='inner.fc.weight', type='Normal', std=0.2),
        dict(param='alpha', type='Uniform', a=1, b=2),
        dict(module='', fn='constant_init', val=1.5),           # self: Blk has no weight/bias attr: no-op
        dict(module='inner', fn='normal_init'),                  # Inner has no weight attr
    ]),
    'head': lin(3, 2),
}, init_weights=[   # root steps run after MMEngine's dump: values change, init_info does not
    dict(param='head.weight', type='Xavier', distribution='uniform'),
    dict(module='head', fn='constant_init', val=2, bias=3),
    dict(param='blk.alpha', type='Kaiming', mode='fan_in'),
]), seed=73)
case('steps_same_value_keeps_info', net({
    'c': net({'fc': lin(2, 2), 'bn': dict(type='BatchNorm1d', num_features=2)}, type='C', init_weights=[
        dict(module='bn', fn='constant_init', val=1, bias=0),   # unchanged: keeps the default string
        dict(module='fc', fn='constant_init', val=1, bias=0),   # same as the parent's Constant: keeps ConstantInit
    ]),
}, init_cfg=dict(type='Constant', val=1, layer='Linear')), seed=74)
case('steps_mha_and_embedding', net({
    'c': net({'mha': dict(type='MultiheadAttention', embed_dim=4, num_heads=2, add_bias_kv=True),
              'emb': dict(type='Embedding', num_embeddings=3, embedding_dim=3, padding_idx=0)}, type='C',
             init_weights=[
                 dict(param='mha.bias_k', type='Normal', std=0.1),          # 4 elements: per-element path
                 dict(param='mha.in_proj_weight', type='Uniform', a=-0.1, b=0.1),
                 dict(module='mha.out_proj', fn='normal_init', std=0.05),
                 dict(module='emb', fn='uniform_init', a=0, b=1),
                 dict(param='mha.bias_v', type='Normal', std=0.1),
             ]),
}), seed=75)

# ---------------------------------------------------------------- dtypes and seeds
mixed = lambda: net({
    'conv': conv(2, 3, 8, 3), 'bn': dict(type='BatchNorm2d', num_features=8), 'fc': lin(8, 5),
    'emb': dict(type='Embedding', num_embeddings=4, embedding_dim=3),
    'p': net(type='P', parameters={'s': {'shape': [3], 'init': {'type': 'Constant', 'val': 70000.0}},
                                   't': {'shape': [4], 'init': {'type': 'Constant', 'val': 1e-6}},
                                   'u': {'shape': [2], 'init': {'type': 'Constant', 'val': 1e-40}},
                                   'd': {'shape': [3, 4], 'dtype': 'float64', 'init': {'type': 'Normal', 'std': 1e-3}}},
             buffers={'n': {'shape': [2], 'dtype': 'int64', 'fill': 3}}),
}, init_cfg=dict(type='Normal', std=1000, layer='Linear'))
case('dtype_f16_overflow_subnormal', mixed(), seed=81, dtype='float16')
case('dtype_bf16_mixed', mixed(), seed=82, dtype='bfloat16')
case('dtype_f64_mixed', mixed(), seed=83, dtype='float64')
case('dtype_f32_explicit_f64_param', mixed(), seed=84, dtype='float32')
small = lambda: net({'fc': lin(4, 4), 'emb': dict(type='Embedding', num_embeddings=2, embedding_dim=3)})
case('seed_negative_one', small(), seed=-1)
case('seed_int64_min', small(), seed=-2 ** 63)
case('seed_int64_max', small(), seed=2 ** 63 - 1)
case('seed_2_32_plus_5', small(), seed=2 ** 32 + 5)
case('seed_negative_2_32', small(), seed=-(2 ** 32) + 3)
case('no_draws_constants_only', net({
    'bn': dict(type='BatchNorm2d', num_features=3), 'ln': dict(type='LayerNorm', normalized_shape=3),
    'fc': lin(0, 0),
    'p': net(type='P', parameters={'w': {'shape': [2], 'init': {'type': 'Ones'}}}),
}, init_cfg=dict(type='Constant', val=0.25, layer='LayerNorm')), seed=99)

# ---------------------------------------------------------------- init_info mean-changed quirk
case('quirk_constant_then_constant', net({
    'a': lin(2, 2), 'b': lin(2, 2), 'c': lin(2, 2),
}, init_cfg=[
    dict(type='Constant', val=1, bias=0, layer='Linear'),
    dict(type='Constant', val=1.0, bias=0.0, override=dict(name='a', type='Constant', val=1, bias=2)),  # a.weight unchanged
    dict(type='Constant', val=2, layer='Linear', override=dict(name='c', type='Constant', val=1)),   # c back to 1
]), seed=101)
case('quirk_same_float32_value', net({'a': lin(2, 2), 'p': net(type='P', parameters={
    'x': {'shape': [3], 'init': {'type': 'Constant', 'val': 0.1}},
    'y': {'shape': [3], 'dtype': 'float64', 'init': {'type': 'Constant', 'val': 0.1}}})},
    init_cfg=[dict(type='Constant', val=0.1, layer='Linear'),
              dict(type='Constant', val=0.10000000001, layer='Linear')]), seed=102)
case('quirk_normal_std0_uniform_degenerate', net({'a': lin(2, 2), 'b': lin(2, 2), 'bn': dict(type='BatchNorm1d', num_features=2)},
    init_cfg=[dict(type='Normal', mean=1, std=0, bias=0, layer='_BatchNorm'),     # BN weight stays 1: unchanged
              dict(type='Uniform', a=0.5, b=0.5, layer='Linear', bias=0.5),
              dict(type='Constant', val=0.5, bias=0.5, override=dict(name='a'))]), seed=103)
case('quirk_empty_always_changed', net({
    'e': lin(3, 0), 'z': dict(type='Embedding', num_embeddings=0, embedding_dim=3),
    'c': net({'fc': lin(0, 2)}, type='Child'),
}, init_cfg=[dict(type='Constant', val=1, layer='Conv2d'), dict(type='Normal', layer='Linear')]), seed=104)
case('quirk_embedding_one_row_padding', net({
    'e': dict(type='Embedding', num_embeddings=1, embedding_dim=4, padding_idx=0),   # all zeros after construction
    'f': dict(type='Embedding', num_embeddings=1, embedding_dim=20, padding_idx=-1),
}, init_cfg=[dict(type='Constant', val=0, layer='Embedding')]), seed=105)
case('quirk_child_user_init_empty', net({
    'c': net({'fc': lin(2, 2)}, type='C', parameters={'e': {'shape': [0]}}),
    'd': net({'fc': lin(2, 2)}, type='D'),
}), seed=106)
case('quirk_linear_zero_in_bias', net({'fc': lin(0, 3)},
                                       init_cfg=dict(type='Constant', val=0, bias=0, layer='Linear')), seed=107)

# ---------------------------------------------------------------- round 2: edges found while reading the engine
case('quirk_truncnormal_degenerate', net({'a': lin(2, 2), 'b': lin(2, 2)}, init_cfg=[
    dict(type='TruncNormal', mean=0, std=1, a=0.5, b=0.5, layer='Linear'),        # every value clamps to 0.5
    dict(type='Constant', val=0.5, bias=0, override=dict(name='a'))]), seed=111)
case('init_bias_prob_one_inf', net({'fc': lin(2, 2)}, init_cfg=dict(type='Normal', bias_prob=1.0, layer='Linear')), seed=112)
case('init_kaiming_bool_a_relu', net({'fc': lin(3, 2)}, init_cfg=dict(type='Kaiming', a=True, layer='Linear')), seed=113)
case('init_info_float_formats', net({'a': lin(2, 2), 'b': lin(2, 2), 'c': lin(2, 2), 'd': lin(2, 2)}, init_cfg=[
    dict(type='Normal', mean=-0.0, std=1e-05, bias=-1e-07, layer='Linear'),
    dict(type='Constant', val=1e16, bias=123456789012, override=dict(name='b')),
    dict(type='Uniform', a=-1e-4, b=0.00011, bias=2.5e-5, override=dict(name='c')),
    dict(type='Constant', val=0.30000000000000004, bias=1e30, override=dict(name='d')),
]), seed=114)
case('bases_mixin_then_basemodule', net({
    'x': dict(type='Blk', bases=['Mixin', 'BaseModule'], children={'fc': lin(2, 2)}),
    'y': dict(type='Blk', bases=['Mixin', 'Mixin'], children={'fc': lin(2, 2)}),
    'z': dict(type='Blk', bases=[], children={'fc': lin(2, 2)}),
}, init_cfg=[dict(type='Constant', val=2, layer='Mixin'), dict(type='Constant', val=3, layer='BaseModule')]), seed=115)
case('container_named_like_leaf', net({
    'lin': dict(type='Linear', children={'fc': lin(2, 2)}),
    'cv': dict(type='Conv2d', init_cfg=dict(type='Constant', val=4, layer='Linear'), children={'fc': lin(2, 3)}),
}, init_cfg=dict(type='Normal', layer='Linear')), seed=116)
case('leaf_conv_padding_strings', net({
    'same': conv(2, 2, 2, 3, padding='same'), 'valid': conv(1, 2, 2, 3, padding='valid', stride=2),
    'same_s1': conv(3, 1, 1, 1, padding='same', stride=[1, 1, 1]),
}), seed=117)
case('container_params_half_constant', net({
    'p': net(type='P', parameters={
        'h': {'shape': [3], 'dtype': 'float16', 'init': {'type': 'Constant', 'val': 0.1}},
        'bf': {'shape': [2], 'dtype': 'bfloat16', 'init': {'type': 'Ones'}},
        'f': {'shape': [2], 'init': {'type': 'Constant', 'val': 0.1}},
    }, buffers={'i': {'shape': [2], 'dtype': 'int64', 'fill': 2.7}, 'j': {'shape': [1], 'dtype': 'int64', 'fill': -2.7},
                'k': {'shape': [2], 'dtype': 'bool', 'fill': 0.5}, 'l': {'shape': [1], 'dtype': 'int32', 'fill': 300}}),
}, init_cfg=dict(type='Constant', val=0.1, layer='P')), seed=118)
case('leaf_rnn_zero_input_ok_sizes', net({
    'rnn': dict(type='RNN', input_size=1, hidden_size=1, bidirectional=True, num_layers=3),
    'gru': dict(type='GRU', input_size=5, hidden_size=1, dropout=1),
}), seed=119)
case('layer_matches_root_and_container_class', net({
    'sub': net({'fc': lin(2, 2)}, type='Net'),
}, init_cfg=dict(type='Constant', val=1, layer='Net')), seed=120)

# ---------------------------------------------------------------- round 3: replay of dead writes, nesting, signed zeros
case('dead_small_normals_keep_spare', net({
    'e1': dict(type='Embedding', num_embeddings=1, embedding_dim=3),   # per-element path, overwritten below
    'e2': dict(type='Embedding', num_embeddings=1, embedding_dim=1),   # uses the spare e1 left
    'p': net(type='P', parameters={
        'd': {'shape': [5], 'dtype': 'float64', 'init': {'type': 'Normal'}},    # dead, leaves a spare
        'w': {'shape': [3], 'init': {'type': 'Normal', 'std': 2}},
        'big': {'shape': [17], 'init': {'type': 'Normal'}},                      # fill path: spare untouched
        'x': {'shape': [1], 'init': {'type': 'Normal'}}}),
    'e3': dict(type='Embedding', num_embeddings=3, embedding_dim=1),
}, init_cfg=[dict(type='Constant', val=1, override=[dict(name='e1'), dict(name='e3')])],
    init_weights=[dict(param='p.d', type='Zeros')]), seed=131)
case('dead_writes_then_live', net({
    'fc': lin(5, 7), 'conv': conv(2, 3, 5, 3), 'emb': dict(type='Embedding', num_embeddings=2, embedding_dim=3),
}, init_cfg=[
    dict(type='Normal', std=0.5, layer=['Linear', 'Conv2d', 'Embedding']),
    dict(type='Xavier', layer='Linear'),
    dict(type='Kaiming', layer='Conv2d', override=dict(name='emb', type='Normal', std=3)),
    dict(type='Uniform', layer='Linear'),
]), seed=132)
case('f64_params_matched_by_layer', net({
    'h': dict(type='Head', parameters={'weight': {'shape': [3, 4], 'dtype': 'float64'},
                                      'bias': {'shape': [3], 'dtype': 'float64'}}),
    'g': dict(type='Head2', parameters={'weight': {'shape': [6, 5], 'dtype': 'float64'}}),
}, init_cfg=[dict(type='Kaiming', distribution='uniform', layer='Head', bias=0.1),
             dict(type='Normal', std=0.1, layer='Head2'),
             dict(type='TruncNormal', std=0.5, a=-1, b=1, layer='Head')]), seed=133)
case('override_container_with_own_cfg', net({
    'blk': net({'fc': lin(3, 3), 'conv': conv(1, 2, 2, 1)}, type='Blk',
               init_cfg=dict(type='Constant', val=2, layer='Conv1d')),
}, init_cfg=dict(type='Normal', layer='Linear', override=dict(name='blk', type='Uniform', a=-3, b=-2))), seed=134)
case('steps_nested_three_levels', net({
    'c': net({
        'g': net({'fc': lin(2, 2)}, type='Grand', init_weights=[dict(module='fc', fn='normal_init', std=0.1)]),
        'fc': lin(2, 2),
    }, type='Child', init_weights=[dict(module='g.fc', fn='constant_init', val=3, bias=1),
                                   dict(param='fc.bias', type='Constant', val=0.5)]),
}, init_cfg=dict(type='Uniform', layer='Linear')), seed=135)
case('signed_zero_fills', net({
    'p': net(type='P', parameters={
        'nz_small': {'shape': [5], 'init': {'type': 'Normal', 'mean': -0.0, 'std': 0}},
        'nz_big': {'shape': [20], 'init': {'type': 'Normal', 'mean': -0.0, 'std': 0}},
        'uz': {'shape': [4], 'init': {'type': 'Uniform', 'a': -0.0, 'b': 0}},
        'cz': {'shape': [2], 'init': {'type': 'Constant', 'val': -0.0}},
        'nz64': {'shape': [20], 'dtype': 'float64', 'init': {'type': 'Normal', 'mean': -0.0, 'std': 0}}}),
    'fc': lin(2, 2),
}, init_cfg=dict(type='Uniform', a=0, b=0, bias=-0.0, layer='Linear')), seed=136)

case('quirk_zero_gain_xavier', net({'a': lin(2, 2), 'b': lin(3, 2)}, init_cfg=[
    dict(type='Constant', val=0, bias=0, layer='Linear'),
    dict(type='Xavier', gain=0, override=dict(name='a')),                           # zeros again (signed): unchanged
    dict(type='Xavier', gain=0, distribution='uniform', bias=1, override=dict(name='b'))]), seed=137)
case('names_close_to_module_attributes', net({
    'types': lin(2, 2), 'weight_': lin(2, 1), 'Training': lin(1, 1),
    'p': net(type='P', parameters={'modules_': {'shape': [1]}, 'T': {'shape': [1]}}, buffers={'to_': {'shape': [1]}}),
}), seed=138)

case('leaf_factory_kwargs', net({
    'fc': lin(2, 2, device='cpu', dtype=None), 'conv': conv(1, 1, 2, 1, device='cpu'),
    'bn': dict(type='BatchNorm1d', num_features=2, device='cpu'), 'ln': dict(type='LayerNorm', normalized_shape=2, dtype=None),
    'mha': dict(type='MultiheadAttention', embed_dim=2, num_heads=1, device='cpu'),
    'gru': dict(type='GRU', input_size=1, hidden_size=1, device='cpu'),
    'emb': dict(type='Embedding', num_embeddings=2, embedding_dim=2, device='cpu'),
    'pr': dict(type='PReLU', device='cpu'), 'drop': dict(type='Dropout', p=1), 'drop0': dict(type='Dropout2d', p=0.0),
}), seed=139)

nan_net = lambda: net({'a': lin(2, 3), 'b': lin(2, 17), 'c': lin(2, 2),
                       'p': net(type='P', parameters={'s': {'shape': [], 'init': {'type': 'Normal'}}})},
                      init_cfg=[dict(type='Constant', val=1, bias_prob=1.5, layer='Linear'),
                                dict(type='Constant', val=2, bias_prob=1.0, override=dict(name='c'))])
case('nan_inf_bias_bfloat16', nan_net(), seed=140, dtype='bfloat16')
case('nan_inf_bias_float16', nan_net(), seed=141, dtype='float16')
case('nan_inf_bias_float32', nan_net(), seed=142)

case('orthogonal_draws_only', net({
    'p': net(type='P', parameters={
        'o': {'shape': [3, 4], 'init': {'type': 'Orthogonal'}},            # 12 normal draws (per-element path), QR values dead
        'o_empty': {'shape': [0, 3], 'init': {'type': 'Orthogonal', 'gain': 2}},   # no-op: no draws
        'o_big': {'shape': [5, 4], 'init': {'type': 'Orthogonal'}},        # 20 draws on the fill path, values dead
        'scalar': {'shape': [], 'init': {'type': 'Normal', 'std': 3}},     # uses the spare left by 'o'
        'n': {'shape': [3], 'init': {'type': 'Normal'}}}),
}, init_cfg=dict(type='Constant', val=0.5, layer='P'),
    init_weights=[dict(param='p.o', type='Constant', val=1), dict(param='p.o_big', type='Zeros')]), seed=143)

case('container_param_int_shape_null_init_cfg', net({'fc': lin(2, 2)}, type='P', init_cfg=None, init_weights=None,
    parameters={'w': {'shape': 3, 'init': {'type': 'Normal'}}, 'z': {'shape': 0}}), seed=144)

case('quirk_half_params_same_after_rounding', net({
    'h': dict(type='HalfHead', parameters={'weight': {'shape': [2, 2], 'dtype': 'float16', 'init': {'type': 'Constant', 'val': 0.1}},
                                          'bias': {'shape': [2], 'dtype': 'bfloat16', 'init': {'type': 'Constant', 'val': 1.0}}}),
}, init_cfg=[dict(type='Constant', val=0.10001, bias=1.001, layer='HalfHead')]), seed=145)

# ---------------------------------------------------------------- fuzz: random compositions (deterministic)
import random as _random


NMAX = 6


def _fuzz_leaf(r):
    k = r.randrange(14)
    n = lambda: r.randint(1, NMAX)
    if k == 0: return lin(n(), n(), bias=r.random() < 0.7)
    if k == 1:
        g = r.choice([1, 2]); return conv(r.randint(1, 3), 2 * g, 2 * g, r.randint(1, 3), groups=g, bias=r.random() < 0.7)
    if k == 2:
        g = r.choice([1, 2]); return convT(r.randint(1, 3), 2 * g, 2 * g, r.randint(1, 2), groups=g)
    if k == 3: return dict(type=r.choice(['BatchNorm1d', 'BatchNorm2d', 'SyncBatchNorm']), num_features=n(),
                           affine=r.random() < 0.8, track_running_stats=r.random() < 0.8)
    if k == 4: return dict(type='LayerNorm', normalized_shape=[n()], bias=r.random() < 0.7)
    if k == 5: return dict(type='GroupNorm', num_groups=1, num_channels=n())
    if k == 6:
        num = n(); return dict(type=r.choice(['Embedding', 'EmbeddingBag']), num_embeddings=num, embedding_dim=n(),
                               padding_idx=r.choice([None, 0, -1]))
    if k == 7:
        e = r.choice([2, 4, 6]); return dict(type='MultiheadAttention', embed_dim=e, num_heads=2, bias=r.random() < 0.7,
                                             add_bias_kv=r.random() < 0.5, kdim=r.choice([None, 3]))
    if k == 8: return dict(type=r.choice(['LSTM', 'GRU', 'RNN']), input_size=n(), hidden_size=r.randint(2, 4),
                           bidirectional=r.random() < 0.5, num_layers=r.randint(1, 2))
    if k == 9: return dict(type='PReLU', num_parameters=n())
    if k == 10: return dict(type='Bilinear', in1_features=n(), in2_features=n(), out_features=n())
    if k == 11: return dict(type='RMSNorm', normalized_shape=n())
    if k == 12: return dict(type='InstanceNorm2d', num_features=n(), affine=True)
    return dict(type=r.choice(['ReLU', 'GELU', 'Identity', 'Dropout']))


_SAFE_LAYERS = ['Linear', 'Conv1d', 'Conv2d', 'Conv3d', '_ConvNd', 'ConvTranspose2d', '_ConvTransposeNd', 'Embedding',
                'Bilinear', 'Block', 'Stage', 'NonDynamicallyQuantizableLinear']


def _fuzz_cfg(r, names):
    t = r.choice(['Constant', 'Normal', 'Uniform', 'Xavier', 'Kaiming', 'TruncNormal', 'Caffe2Xavier'])
    cfg = {'type': t, 'layer': r.sample(_SAFE_LAYERS, r.randint(1, 3))}
    if t == 'Constant': cfg['val'] = r.choice([0, 1, 0.5, 2])
    if t == 'Normal': cfg['std'] = r.choice([0.01, 1, 0.5])
    if t == 'Uniform': cfg.update(a=r.choice([-1, 0]), b=r.choice([1, 0.5]))
    if t == 'Xavier': cfg.update(distribution=r.choice(['normal', 'uniform']), gain=r.choice([1, 2.0]))
    if t == 'Kaiming': cfg.update(mode=r.choice(['fan_in', 'fan_out']), distribution=r.choice(['normal', 'uniform']))
    if t == 'TruncNormal': cfg.update(std=0.02)
    if r.random() < 0.3: cfg['bias'] = r.choice([0, 0.1, 1])
    if r.random() < 0.2: cfg['bias_prob'] = 0.01
    if names and r.random() < 0.3:
        cfg['override'] = {'name': r.choice(names), 'type': 'Constant', 'val': r.choice([0, 1, 3])}
    return cfg


def _fuzz_node(r, depth, tname):
    children = {}
    for i in range(r.randint(1, 4)):
        if depth < 2 and r.random() < 0.3:
            children[f'm{i}'] = _fuzz_node(r, depth + 1, r.choice(['Block', 'Stage']))
        else:
            children[f'm{i}'] = _fuzz_leaf(r)
    node = {'type': tname, 'children': children}
    if r.random() < 0.7:
        node['init_cfg'] = [_fuzz_cfg(r, list(children)) for _ in range(r.randint(1, 2))]
    return node


for _k in range(12):
    _r = _random.Random(1000 + _k)
    case(f'fuzz_{_k:02d}', _fuzz_node(_r, 0, 'Net'), seed=_r.randint(-2 ** 40, 2 ** 40),
         dtype=_r.choice([None, None, 'float16', 'bfloat16', 'float64']))

# ---------------------------------------------------------------- error cases
E = {
    'error_unknown_initializer_typo': net({'fc': lin(2, 2)}, init_cfg=dict(type='Kaimng', layer='Linear')),
    'error_override_unknown_name': net({'fc': lin(2, 2)}, init_cfg=dict(type='Constant', val=1, override=dict(name='nope'))),
    'error_override_no_type': net({'fc': lin(2, 2)}, init_cfg=dict(type='Constant', val=1, override=dict(name='fc', val=2))),
    'error_override_list_missing_name': net({'fc': lin(2, 2)}, init_cfg=dict(type='Constant', val=1, override=[
        dict(name='fc'), dict(type='Constant', val=2)])),
    'error_override_parameter_name': net(type='P', parameters={'w': {'shape': [2]}},
                                         init_cfg=dict(type='Constant', val=1, override=dict(name='w'))),
    'error_rnn_matched_by_layer': net({'gru': dict(type='GRU', input_size=2, hidden_size=2)},
                                      init_cfg=dict(type='Normal', layer='RNNBase')),
    'error_lstm_bias_false_matched': net({'lstm': dict(type='LSTM', input_size=2, hidden_size=2, bias=False)},
                                         init_cfg=dict(type='Constant', val=1, layer='LSTM')),
    'error_whole_kaiming_over_norm': net({'blk': net({'conv': conv(2, 2, 2, 1), 'bn': dict(type='BatchNorm2d', num_features=2)}, type='Blk')},
                                         init_cfg=dict(type='Kaiming', layer='Conv2d', override=dict(name='blk'))),
    'error_whole_xavier_over_layernorm': net({'ln': dict(type='LayerNorm', normalized_shape=3)},
                                             init_cfg=dict(type='Xavier', override=dict(name='ln', type='Xavier'))),
    'error_embedding_padding_too_big': net({'e': dict(type='Embedding', num_embeddings=3, embedding_dim=2, padding_idx=3)}),
    'error_embedding_padding_too_negative': net({'e': dict(type='EmbeddingBag', num_embeddings=3, embedding_dim=2, padding_idx=-4)}),
    'error_conv_groups_in': net({'c': conv(2, 3, 4, 1, groups=2)}),
    'error_convT_groups_out': net({'c': convT(2, 4, 3, 1, groups=2)}),
    'error_mha_not_divisible': net({'m': dict(type='MultiheadAttention', embed_dim=6, num_heads=4)}),
    'error_linear_unknown_kwarg': net({'fc': lin(2, 2, bias_=False)}),
    'error_bn_unknown_kwarg': net({'bn': dict(type='BatchNorm2d', num_features=2, affine_=True)}),
    'error_bias_prob_int': net({'fc': lin(2, 2)}, init_cfg=dict(type='Normal', bias_prob=1, layer='Linear')),
    'error_bias_prob_zero': net({'fc': lin(2, 2)}, init_cfg=dict(type='Normal', bias_prob=0.0, layer='Linear')),
    'error_kaiming_bad_mode': net({'fc': lin(2, 2)}, init_cfg=dict(type='Kaiming', mode='fan_avg', layer='Linear')),
    'error_kaiming_bad_nonlinearity': net({'fc': lin(2, 2)}, init_cfg=dict(type='Kaiming', nonlinearity='ReLU', layer='Linear')),
    'error_kaiming_bool_a_leaky': net({'fc': lin(2, 2)}, init_cfg=dict(type='Kaiming', a=True, nonlinearity='leaky_relu', layer='Linear')),
    'error_kaiming_bad_distribution': net({'fc': lin(2, 2)}, init_cfg=dict(type='Kaiming', distribution='gauss', layer='Linear')),
    'error_xavier_bad_distribution': net({'fc': lin(2, 2)}, init_cfg=dict(type='Xavier', distribution='gauss', layer='Linear')),
    'error_normal_negative_std': net({'fc': lin(2, 2)}, init_cfg=dict(type='Normal', std=-1, layer='Linear')),
    'error_uniform_reversed': net({'fc': lin(2, 2)}, init_cfg=dict(type='Uniform', a=1, b=0, layer='Linear')),
    'error_truncnormal_reversed': net({'fc': lin(2, 2)}, init_cfg=dict(type='TruncNormal', a=1, b=-1, layer='Linear')),
    'error_truncnormal_negative_std': net({'fc': lin(2, 2)}, init_cfg=dict(type='TruncNormal', std=-1, layer='Linear')),
    'error_constant_no_val': net({'fc': lin(2, 2)}, init_cfg=dict(type='Constant', layer='Linear')),
    'error_layer_int': net({'fc': lin(2, 2)}, init_cfg=dict(type='Constant', val=1, layer=3)),
    'error_bias_string': net({'fc': lin(2, 2)}, init_cfg=dict(type='Constant', val=1, bias='0', layer='Linear')),
    'error_init_cfg_no_type': net({'fc': lin(2, 2)}, init_cfg=[dict(layer='Linear', val=1)]),
    'error_init_cfg_string': net({'fc': lin(2, 2)}, init_cfg='Kaiming'),
    'error_orthogonal_layer': net({'fc': lin(2, 2)}, init_cfg=dict(type='Orthogonal', layer='Linear')),
    'error_step_unknown_fn': net({'fc': lin(2, 2)}, type='N', init_weights=[dict(module='fc', fn='orthogonal_init')]),
    'error_step_buffer_param': net({'bn': dict(type='BatchNorm1d', num_features=2)}, init_weights=[
        dict(param='bn.running_mean', type='Constant', val=1)]),
    'error_step_missing_module': net({'fc': lin(2, 2)}, init_weights=[dict(module='fc2', fn='normal_init')]),
    'error_step_rnn_module': net({'r': dict(type='RNN', input_size=2, hidden_size=2)}, init_weights=[
        dict(module='r', fn='normal_init')]),
    'error_param_kaiming_1d': net(type='P', parameters={'w': {'shape': [3], 'init': {'type': 'Kaiming'}}}),
    'error_param_xavier_scalar': net(type='P', parameters={'w': {'shape': [], 'init': {'type': 'Xavier'}}}),
    'error_rnn_bad_nonlinearity': net({'r': dict(type='RNN', input_size=2, hidden_size=2, nonlinearity='sigmoid')}),
    'error_lstm_proj_too_big': net({'r': dict(type='LSTM', input_size=2, hidden_size=2, proj_size=2)}),
    'error_gru_proj': net({'r': dict(type='GRU', input_size=2, hidden_size=3, proj_size=1)}),
    'error_groupnorm_not_divisible': net({'g': dict(type='GroupNorm', num_groups=3, num_channels=4)}),
    'error_bilinear_zero_in1': net({'b': dict(type='Bilinear', in1_features=0, in2_features=2, out_features=2)}),
    'error_caffe2_with_a': net({'fc': lin(2, 2)}, init_cfg=dict(type='Caffe2Xavier', a=2, layer='Linear')),
    'error_init_cfg_kwarg_typo': net({'fc': lin(2, 2)}, init_cfg=dict(type='Normal', sdt=2, layer='Linear')),
    'error_bases_mro': net({'fc': lin(2, 2)}, bases=['BaseModule', 'Mixin']),
    'error_duplicate_child_param_name': net({'w': lin(2, 2)}, type='P', parameters={'w': {'shape': [2]}}),
    'error_uniform_double_compare': net({'fc': lin(2, 2)}, init_cfg=dict(type='Uniform', a=1.0000000001, b=1.0, layer='Linear')),
    'error_uniform_out_of_float_range': net({'fc': lin(2, 2)}, init_cfg=dict(type='Uniform', a=-1e39, b=0, layer='Linear')),
    'error_uniform_width_overflow': net(type='P', parameters={'w': {'shape': [2], 'init': {'type': 'Uniform', 'a': -3e38, 'b': 3e38}}}),
    'error_conv_padding_string': net({'c': conv(2, 2, 2, 3, padding='full')}),
    'error_conv_same_strided': net({'c': conv(2, 2, 2, 3, padding='same', stride=2)}),
    'error_rnn_bias_int': net({'r': dict(type='LSTM', input_size=2, hidden_size=2, bias=1)}),
    'error_rnn_zero_input': net({'r': dict(type='GRU', input_size=0, hidden_size=2)}),
    'error_child_named_weight_matched': net({'weight': lin(2, 2)}, type='Odd', init_cfg=dict(type='Constant', val=1, layer='Odd')),
    'error_param_int64': net(type='P', parameters={'w': {'shape': [2], 'dtype': 'int64'}}),
    'error_param_int64_frozen': net(type='P', parameters={'w': {'shape': [2], 'dtype': 'int64', 'requires_grad': False}}),
    'error_step_orthogonal_1d': net(type='P', parameters={'w': {'shape': [3]}}, init_weights=[dict(param='w', type='Orthogonal')]),
    'error_bias_prob_zero_step_free': net({'fc': lin(2, 2)}, init_cfg=dict(type='Constant', val=1, bias_prob=0.0, override=dict(name='fc'))),
    'error_bias_overflows_float': net({'fc': lin(2, 2)}, init_cfg=dict(type='Normal', bias=1e300, layer='Linear')),
    'error_constant_overflows_half_param': net(type='P', parameters={'h': {'shape': [2], 'dtype': 'float16', 'init': {'type': 'Constant', 'val': 65519}}}),
    'error_buffer_fill_overflows_int32': net(type='P', buffers={'b': {'shape': [2], 'dtype': 'int32', 'fill': 3e9}}),
    'error_prelu_init_overflow': net({'p': dict(type='PReLU', init=1e39)}),
    'error_step_constant_overflow': net({'fc': lin(2, 2)}, init_weights=[dict(module='fc', fn='constant_init', val=1e39)]),
    'error_child_named_type': net({'type': lin(2, 2)}),
    'error_param_named_training': net(type='P', parameters={'training': {'shape': [2]}}),
    'error_buffer_named_forward': net(type='P', buffers={'forward': {'shape': [2]}}),
    'error_child_named_init_cfg': net({'init_cfg': lin(2, 2)}),
    'error_dropout_p': net({'d': dict(type='Dropout', p=1.5)}),
    'error_leaf_dtype_string': net({'fc': lin(2, 2, dtype='float64')}),
    'error_relu_device': net({'r': dict(type='ReLU', device='cpu')}),
    'error_null_bases': net({'fc': lin(2, 2)}, bases=None),
    'error_null_children': dict(type='Net', children=None),
    'error_null_parameters': net({'fc': lin(2, 2)}, parameters=None),
    'error_null_buffers': net({'fc': lin(2, 2)}, buffers=None),
    'error_buffer_int_shape': net(type='P', buffers={'b': {'shape': 3}}),
    'error_lazy_linear': net({'fc': dict(type='LazyLinear', out_features=3)}),
}
for name, model in E.items():
    case(name, model, seed=1)
case('error_dtype_unknown', net({'fc': lin(2, 2)}), dtype='half')
case('error_dtype_int64', net({'fc': lin(2, 2)}), dtype='int64')


def main():
    # Other generators (make_pretrained_cases.py, ...) share this folder: never delete here, only point out
    # folders that look like cases of ours that were renamed or dropped.
    ours = ('leaf_', 'init_', 'layer_', 'override_', 'nested_', 'container_', 'steps_', 'dtype_', 'seed_', 'quirk_',
            'error_', 'fuzz_', 'dead_', 'nan_', 'bases_', 'names_', 'signed_', 'orthogonal_', 'f64_', 'no_draws_')
    for d in sorted(os.listdir(HERE)):
        if d not in CASES and d.startswith(ours) and os.path.exists(os.path.join(HERE, d, 'spec.json')):
            print('stale case folder (not written by this script):', d)
    for name, spec in CASES.items():
        d = os.path.join(HERE, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, 'spec.json'), 'w') as f:
            json.dump(spec, f, indent=1)
    print(len(CASES), 'cases')


if __name__ == '__main__':
    import sys
    if sys.argv[1:] == ['--dirs']:
        print(' '.join(os.path.join(HERE, n) for n in CASES))
    else:
        main()
