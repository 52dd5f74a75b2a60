"""Real PyTorch + MMEngine models for the tests (also imported by the CLI test as wi_models:Class)."""
import torch
import torch.nn as nn
from mmengine.model import BaseModule, ModuleList, Sequential
from mmengine.model.weight_init import constant_init, trunc_normal_


# ---------------------------------------------------------------- ResNet-style


class BasicBlock(BaseModule):
    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, init_cfg=None):
        super().__init__(init_cfg)
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample


class ResNetTiny(BaseModule):
    """Conv/BN/ReLU stem, two stages (the second with a 1x1 conv + BN downsample in a plain nn.Sequential),
    Kaiming on Conv2d, Constant 1 on _BatchNorm and GroupNorm, Normal on the fc head through an override."""

    def __init__(self, width=8, num_classes=10, zero_init_residual=False):
        super().__init__(init_cfg=[
            dict(type="Kaiming", layer=["Conv2d"]),
            dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"]),
            dict(type="Normal", std=0.01, bias=0.0, layer="Linear", override=dict(name="fc", type="Normal", std=0.001)),
        ])
        self.zero_init_residual = zero_init_residual
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = Sequential(BasicBlock(width, width), BasicBlock(width, width))
        down = nn.Sequential(nn.Conv2d(width, 2 * width, 1, stride=2, bias=False), nn.BatchNorm2d(2 * width))
        self.layer2 = Sequential(BasicBlock(width, 2 * width, 2, downsample=down), BasicBlock(2 * width, 2 * width))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(2 * width, num_classes)

    def init_weights(self):
        super().init_weights()
        if self.zero_init_residual:
            for m in self.modules():
                if isinstance(m, BasicBlock):
                    constant_init(m.bn2, 0)


# ---------------------------------------------------------------- transformer-style


class MLP(BaseModule):
    def __init__(self, dim, hidden, init_cfg=None):
        super().__init__(init_cfg)
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.drop = nn.Dropout(0.1)
        self.fc2 = nn.Linear(hidden, dim)


class TransformerBlock(BaseModule):
    def __init__(self, dim, heads, init_cfg=None):
        super().__init__(init_cfg)
        self.ln1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = nn.MultiheadAttention(dim, heads, dropout=0.0, batch_first=True)
        self.ln2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = MLP(dim, 4 * dim)


class TinyTransformer(BaseModule):
    """Token embedding, learned position embedding and class token (raw parameters initialized in a user
    init_weights), pre-norm blocks with MultiheadAttention and an MLP, TruncNormal on Linear, Normal on
    Embedding, Constant on LayerNorm, and a head override."""


    def __init__(self, vocab=50, dim=32, heads=4, depth=2, seq=16):
        super().__init__(init_cfg=[
            dict(type="TruncNormal", layer="Linear", std=0.02, bias=0.0),
            dict(type="Normal", layer="Embedding", std=0.02),
            dict(type="Constant", layer="LayerNorm", val=1.0, bias=0.0),
            dict(type="Xavier", layer="Linear", override=dict(name="head", type="Normal", std=0.001, bias=-1.5)),
        ])
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, seq + 1, dim))
        self.tok = nn.Embedding(vocab, dim, padding_idx=0)
        self.blocks = ModuleList([TransformerBlock(dim, heads) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, vocab, bias=True)

    def init_weights(self):
        super().init_weights()
        trunc_normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.cls_token, std=1e-6)


# ---------------------------------------------------------------- smaller ones


class BaseHead(BaseModule):
    pass


class ScaleHead(BaseHead):
    """A container with its own weight/bias parameters: `layer` matches it through its base name."""

    def __init__(self, n, init_cfg=None):
        super().__init__(init_cfg)
        self.weight = nn.Parameter(torch.ones(n))
        self.bias = nn.Parameter(torch.zeros(n))
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))
        self.register_buffer("cache", torch.zeros(n), persistent=False)


class Inner(BaseModule):
    def __init__(self, init_cfg=None):
        super().__init__(init_cfg)
        self.fc = nn.Linear(6, 6)
        self.conv = nn.Conv1d(6, 6, 3, groups=2)


class NestedNet(BaseModule):
    """Nested BaseModules with their own init_cfg (the child's wins), a BaseModule in a plain nn.Sequential
    (MMEngine never calls its init_weights), name-only override, bias_prob, layer matched on a base name."""

    def __init__(self):
        super().__init__(init_cfg=[
            dict(type="Xavier", layer=["Linear", "Conv1d"], distribution="uniform"),
            dict(type="Constant", val=0.5, layer="BaseHead"),
            dict(type="Normal", std=0.3, layer="Linear", bias_prob=0.01, override=dict(name="proj")),
        ])
        self.a = Inner(init_cfg=dict(type="Kaiming", layer="Linear", mode="fan_in", nonlinearity="leaky_relu", a=0.1))
        self.b = Inner()
        self.plain = nn.Sequential(Inner(init_cfg=dict(type="Constant", val=3.0, layer="Linear")), nn.Tanh())
        self.proj = nn.Linear(6, 3)
        self.head = ScaleHead(3, init_cfg=dict(type="Uniform", a=-0.1, b=0.1, layer="BaseHead"))
        self.norm = nn.GroupNorm(2, 6)


class SeqModel(BaseModule):
    """Embedding + LSTM (projection, bidirectional) + GRU + RNN(relu) + Linear."""

    def __init__(self):
        super().__init__(init_cfg=dict(type="Uniform", layer="Linear", a=-0.05, b=0.05))
        self.emb = nn.Embedding(20, 8, padding_idx=3)
        self.lstm = nn.LSTM(8, 12, num_layers=2, batch_first=True, bidirectional=True, proj_size=5)
        self.gru = nn.GRU(10, 7, bias=False)
        self.rnn = nn.RNN(7, 4, nonlinearity="relu")
        self.out = nn.Linear(4, 2)


class PlainNet(nn.Module):
    """A plain torch.nn.Module root: no init_weights at all, so only construction-time init happens."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.block = Inner(init_cfg=dict(type="Constant", val=2.0, layer="Linear"))  # never applied
        self.prelu = nn.PReLU(4, init=0.1)
        self.bil = nn.Bilinear(3, 4, 5)
        self.ct = nn.ConvTranspose2d(4, 2, 3, stride=2, output_padding=1)


class MixedNorms(BaseModule):
    def __init__(self):
        super().__init__(init_cfg=dict(type="Constant", val=0.25, bias=0.125, layer=["_InstanceNorm", "LayerNorm"]))
        self.inorm = nn.InstanceNorm2d(4, affine=True, track_running_stats=True)
        self.rms = nn.RMSNorm([2, 3])
        self.bn3 = nn.BatchNorm3d(2)
        self.bag = nn.EmbeddingBag(9, 3, mode="sum")
        self.ln = nn.LayerNorm(5, elementwise_affine=True)
        self.c3 = nn.Conv3d(2, 2, (1, 2, 3), bias=False)


class Unsupported(BaseModule):
    def __init__(self):
        super().__init__()
        self.ok = nn.Linear(2, 2)
        self.enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2, enable_nested_tensor=False)


# ---------------------------------------------------------------- one of (almost) every leaf, non-default arguments

LEAF_ZOO = {
    "batchnorm_no_bias": dict(b=lambda: nn.BatchNorm2d(3, bias=False)),
    "instancenorm_no_bias": dict(b=lambda: nn.InstanceNorm1d(3, affine=True, bias=False)),
    "groupnorm_no_bias": dict(b=lambda: nn.GroupNorm(1, 3, bias=False)),
    "conv_same_circular": dict(c=lambda: nn.Conv1d(2, 4, 3, padding="same", padding_mode="circular", bias=False)),
    "conv_transpose_3d": dict(c=lambda: nn.ConvTranspose3d(2, 4, (1, 2, 3), stride=2, dilation=(1, 2, 1),
                                                           output_padding=(0, 1, 1), groups=2)),
    "embeddings": dict(e=lambda: nn.Embedding(7, 3, max_norm=1.0, scale_grad_by_freq=True),
                       bag=lambda: nn.EmbeddingBag(7, 3, padding_idx=2, mode="max", include_last_offset=True)),
    "attention": dict(a=lambda: nn.MultiheadAttention(8, 2, bias=False, add_zero_attn=True, kdim=3, vdim=5),
                      b=lambda: nn.MultiheadAttention(4, 1, add_bias_kv=True, dropout=0.5)),
    "sync_rms": dict(s=lambda: nn.SyncBatchNorm(4, eps=1e-3, momentum=0.3),
                     r=lambda: nn.RMSNorm(4, eps=1e-6, elementwise_affine=False), r2=lambda: nn.RMSNorm((2, 2))),
    "bilinear_prelu": dict(b=lambda: nn.Bilinear(2, 3, 4, bias=False), p=lambda: nn.PReLU(), q=lambda: nn.PReLU(3, 0.5)),
    "recurrent": dict(r=lambda: nn.RNN(3, 5, num_layers=2, dropout=0.25, bidirectional=True, batch_first=True),
                      g=lambda: nn.GRU(2, 3, num_layers=3)),
    "parameter_free": dict(
        a=lambda: nn.Unflatten(1, (2, 2)), b=lambda: nn.PixelShuffle(2),
        c=lambda: nn.AdaptiveMaxPool2d((2, 3), return_indices=True), d=lambda: nn.Softplus(beta=2.0, threshold=10.0),
        e=lambda: nn.Hardtanh(-2.0, 2.0), f=lambda: nn.ReLU6(inplace=True),
        g=lambda: nn.AvgPool1d(3, ceil_mode=True, count_include_pad=False),
        h=lambda: nn.Upsample(size=(4, 4), mode="bilinear", align_corners=True), i=lambda: nn.GLU(dim=0),
        j=lambda: nn.ELU(alpha=0.5), k=lambda: nn.Identity(3, x=4), l=lambda: nn.Dropout2d(0.3),
        m=lambda: nn.AlphaDropout(0.1), n=lambda: nn.LeakyReLU(0.2), o=lambda: nn.GELU("tanh"),
        p=lambda: nn.Flatten(0, -1), q=lambda: nn.LogSoftmax(dim=1), r=lambda: nn.Hardsigmoid()),
    "torch_transformer_layers": dict(t=lambda: nn.TransformerEncoderLayer(8, 2, 16, activation=nn.GELU()),
                                     d=lambda: nn.TransformerDecoderLayer(8, 2, 12, norm_first=True, bias=False)),
    "layernorms_and_empty": dict(l=lambda: nn.LayerNorm((2, 3), eps=1e-3, bias=False),
                                 l2=lambda: nn.LayerNorm(3, elementwise_affine=False),
                                 z=lambda: nn.Linear(0, 3), e=lambda: nn.Embedding(3, 0)),
}


def zoo_model(name):
    """A BaseModule holding LEAF_ZOO[name], with Kaiming (uniform, a=1) over every conv and Linear."""
    children = LEAF_ZOO[name]

    class Zoo(BaseModule):
        def __init__(self):
            super().__init__(init_cfg=dict(type="Kaiming", layer=["_ConvNd", "Linear"], a=1, distribution="uniform"))
            for k, make in children.items():
                self.add_module(k, make())

    return Zoo
