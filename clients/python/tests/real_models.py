"""Factories of real models from torchvision, timm, Hugging Face transformers and MMPretrain, by name.

`LISTED` are the models issue 8 names; `UNLISTED` are others from the same libraries, chosen before the tracer was
tested on them. Each factory builds the model the way its library's users do (random init, no download).
"""
import functools


def _tv(name, **kw):
    import torchvision
    return getattr(torchvision.models, name)(**kw)


def _timm(name, **kw):
    import timm
    return timm.create_model(name, pretrained=False, **kw)


def _hf(model, config, **cfg):
    import transformers
    return getattr(transformers, model)(getattr(transformers, config)(**cfg))


def _mm(**cfg):
    import mmpretrain.models  # noqa: F401  (registers the models)
    from mmpretrain.registry import MODELS
    return MODELS.build(cfg)


SMALL = dict(vocab_size=1000)
GPT2 = dict(n_layer=2, n_embd=64, n_head=4, n_positions=128, **SMALL)
BERT = dict(num_hidden_layers=2, hidden_size=64, num_attention_heads=4, intermediate_size=128,
            max_position_embeddings=128, **SMALL)
LLAMA = dict(num_hidden_layers=2, hidden_size=64, num_attention_heads=4, intermediate_size=128,
             max_position_embeddings=128, **SMALL)
HIDDEN = dict(num_hidden_layers=2, hidden_size=64, num_attention_heads=4, intermediate_size=128)
T5 = dict(num_layers=2, d_model=64, num_heads=4, d_kv=16, d_ff=128, **SMALL)

P = functools.partial
LISTED = {
    "tv_resnet18": P(_tv, "resnet18"),
    "tv_resnet50": P(_tv, "resnet50"),
    "tv_vit_b_16": P(_tv, "vit_b_16"),
    "tv_mobilenet_v3_small": P(_tv, "mobilenet_v3_small"),
    "tv_convnext_tiny": P(_tv, "convnext_tiny"),
    "tv_swin_t": P(_tv, "swin_t"),
    "timm_resnet18": P(_timm, "resnet18"),
    "timm_vit_tiny_patch16_224": P(_timm, "vit_tiny_patch16_224"),
    "timm_convnext_atto": P(_timm, "convnext_atto"),
    "hf_gpt2": P(_hf, "GPT2LMHeadModel", "GPT2Config", **GPT2),
    "hf_bert": P(_hf, "BertModel", "BertConfig", **BERT),
    "hf_llama": P(_hf, "LlamaForCausalLM", "LlamaConfig", **LLAMA),
    "hf_t5": P(_hf, "T5Model", "T5Config", **T5),
    "mm_resnet18": P(_mm, type="ResNet", depth=18),
    "mm_resnet50_init_cfg": P(_mm, type="ResNet", depth=50, init_cfg=[
        dict(type="Kaiming", layer=["Conv2d"]), dict(type="Constant", val=1, layer=["_BatchNorm", "GroupNorm"])]),
    "mm_resnetv1d50": P(_mm, type="ResNetV1d", depth=50),
    "mm_vit_deit_tiny": P(_mm, type="VisionTransformer", arch="deit-tiny", img_size=224, patch_size=16),
    "mm_swin_tiny": P(_mm, type="SwinTransformer", arch="tiny", img_size=224),
    "mm_convnext_tiny": P(_mm, type="ConvNeXt", arch="tiny"),
    "mm_mobilenet_v2": P(_mm, type="MobileNetV2"),
    "mm_linear_cls_head": P(_mm, type="LinearClsHead", num_classes=10, in_channels=64),
    "mm_vit_cls_head": P(_mm, type="VisionTransformerClsHead", num_classes=10, in_channels=192),
}

UNLISTED = {
    "tv_densenet121": P(_tv, "densenet121"),
    "tv_efficientnet_b0": P(_tv, "efficientnet_b0"),
    "tv_regnet_y_400mf": P(_tv, "regnet_y_400mf"),
    "tv_shufflenet_v2_x0_5": P(_tv, "shufflenet_v2_x0_5"),
    "tv_squeezenet1_0": P(_tv, "squeezenet1_0"),
    "tv_maxvit_t": P(_tv, "maxvit_t"),
    "timm_efficientnet_b0": P(_timm, "efficientnet_b0"),
    "timm_deit_tiny_patch16_224": P(_timm, "deit_tiny_patch16_224"),
    "timm_swin_tiny_patch4_window7_224": P(_timm, "swin_tiny_patch4_window7_224"),
    "timm_mobilenetv3_small_050": P(_timm, "mobilenetv3_small_050"),
    "hf_opt": P(_hf, "OPTForCausalLM", "OPTConfig", num_hidden_layers=2, hidden_size=64, num_attention_heads=4,
                ffn_dim=128, max_position_embeddings=128, word_embed_proj_dim=64, **SMALL),
    "hf_roberta": P(_hf, "RobertaModel", "RobertaConfig", **BERT),
    "hf_mistral": P(_hf, "MistralForCausalLM", "MistralConfig", num_key_value_heads=2, **LLAMA),
    "hf_vit": P(_hf, "ViTModel", "ViTConfig", num_hidden_layers=2, hidden_size=64, num_attention_heads=4,
                intermediate_size=128, image_size=32, patch_size=8),
    "mm_resnet34": P(_mm, type="ResNet", depth=34),
    "mm_seresnet50": P(_mm, type="SEResNet", depth=50),
    "mm_efficientnet_b0": P(_mm, type="EfficientNet", arch="b0"),
    "mm_regnet": P(_mm, type="RegNet", arch="regnetx_400mf"),
    "tv_inception_v3": P(_tv, "inception_v3", init_weights=True),
    "tv_swin_v2_t": P(_tv, "swin_v2_t"),
    "tv_googlenet": P(_tv, "googlenet", init_weights=True),
    "timm_levit_128s": P(_timm, "levit_128s"),
    "timm_xcit_nano": P(_timm, "xcit_nano_12_p16_224"),
    "timm_coatnet_0": P(_timm, "coatnet_0_rw_224"),
    "hf_bloom": P(_hf, "BloomForCausalLM", "BloomConfig", n_layer=2, hidden_size=64, n_head=4, **SMALL),
    "hf_falcon": P(_hf, "FalconForCausalLM", "FalconConfig", num_hidden_layers=2, hidden_size=64,
                   num_attention_heads=4, **SMALL),
    "hf_bart": P(_hf, "BartModel", "BartConfig", encoder_layers=2, decoder_layers=2, d_model=64,
                 encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=128, decoder_ffn_dim=128, **SMALL),
    "hf_clip": P(_hf, "CLIPModel", "CLIPConfig", text_config=dict(**HIDDEN, **SMALL),
                 vision_config=dict(**HIDDEN, image_size=32, patch_size=8)),
    "hf_phi": P(_hf, "PhiForCausalLM", "PhiConfig", **HIDDEN, **SMALL),
    "mm_hrnet_w18": P(_mm, type="HRNet", arch="w18"),
    "mm_conformer": P(_mm, type="Conformer", arch="tiny"),
    "mm_poolformer": P(_mm, type="PoolFormer", arch="s12"),
}

# Refused with a reason, not exact: Mamba's dt_proj bias is exp() of random draws, outside the vocabulary.
REFUSED = {
    "hf_mamba": (P(_hf, "MambaModel", "MambaConfig", num_hidden_layers=2, hidden_size=64, **SMALL),
                 "exp on values that depend on random draws"),
}

ALL = {**LISTED, **UNLISTED}
