"""DINOv2Teacher and CLIPTeacher: both key layouts, equality with timm/open_clip, errors, frozen state."""

import pytest
import timm
import torch
import torch.nn.functional as F
from torch import nn

from mmssl.models.algorithms import BaseSelfSupervisor
from mmssl.models.target_generators import CLIPTeacher, DINOv2Teacher
from mmssl.models.target_generators.image_teacher import no_download
from mmssl.registry import OPTIM_WRAPPER_CONSTRUCTORS

TINY = dict(embed_dim=32, depth=2, num_heads=2)
SIZE = (28, 42)  # 2 x 3 patches of 14 px
CLIP_TINY = dict(layers=2, width=32, head_width=16, patch_size=14)


def _randomise(model: nn.Module) -> nn.Module:
    """Scramble layer scales and norms too, so every block and the final norm matter."""
    torch.manual_seed(0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if 'gamma' in name or ('norm' in name and name.endswith('weight')) or 'ln_' in name:
                p.uniform_(0.5, 1.5)
            elif name.endswith('bias'):
                p.normal_(0, 0.1)
    return model.eval()


def _timm_dinov2(img_size, dynamic=False):
    torch.manual_seed(0)
    model = timm.create_model(
        'vit_small_patch14_dinov2',
        pretrained=False,
        img_size=img_size,
        num_classes=0,
        dynamic_img_size=dynamic,
        **TINY,
    )
    return _randomise(model)


def _official_file(tmp_path):
    """A DINOv2 file in the facebookresearch layout: 518 px grid (37 x 37), mask_token."""
    ref = _timm_dinov2(518, dynamic=True)
    state = dict(ref.state_dict())
    state['mask_token'] = torch.zeros(1, TINY['embed_dim'])
    assert state['pos_embed'].shape == (1, 1 + 37 * 37, TINY['embed_dim'])
    path = tmp_path / 'dinov2_vits14_pretrain.pth'
    torch.save(state, path)
    return path, ref


def _normalise(teacher, images):
    return (images.flatten(0, 1) - teacher.mean) / teacher.std


def _images(b=2, n=3, size=SIZE):
    torch.manual_seed(1)
    return torch.rand(b, n, 3, *size)


@pytest.mark.parametrize('layer,after_norm', [(-1, False), (-1, True), (0, False)])
def test_dinov2_official_layout_equals_timm(tmp_path, layer, after_norm):
    path, ref = _official_file(tmp_path)
    teacher = DINOv2Teacher(str(path), input_size=SIZE, layer=layer, after_norm=after_norm, arch_kwargs=TINY)
    assert teacher.layout == 'official DINOv2'
    report = teacher.load_report
    assert report.count('loaded') == len(ref.state_dict()) and report.count('missing') == 0
    assert report.count('unexpected') == 0 and report.count('shape-mismatched') == 0
    images = _images()
    out = teacher(images)
    assert out.shape == (2, 3, 32, 2, 3) and out.dtype == torch.float32
    # timm's own forward of the 518 px model, its pos_embed resampled on the fly to 2 x 3
    expect = ref.forward_intermediates(
        _normalise(teacher, images), indices=[layer % 2], norm=after_norm, intermediates_only=True
    )[0]
    torch.testing.assert_close(out.flatten(0, 1), expect)
    if layer == -1 and after_norm:  # forward_features = last block + final norm, CLS first
        tokens = ref.forward_features(_normalise(teacher, images))[:, 1:]
        torch.testing.assert_close(out.flatten(0, 1).flatten(2).transpose(1, 2), tokens)


def test_dinov2_giant_official_swiglu_keys(tmp_path):
    """ViT-g's official file names its packed SwiGLU ``mlp.w12`` / ``mlp.w3`` (timm: fc1 / fc2)."""
    torch.manual_seed(0)
    ref = _randomise(
        timm.create_model('vit_giant_patch14_dinov2', pretrained=False, img_size=518, num_classes=0, **TINY)
    )
    state = {
        k.replace('mlp.fc1', 'mlp.w12').replace('mlp.fc2', 'mlp.w3'): v for k, v in ref.state_dict().items()
    }
    assert any('mlp.w12' in k for k in state)
    path = tmp_path / 'dinov2_vitg14_pretrain.pth'
    torch.save(dict(state, mask_token=torch.zeros(1, 32)), path)
    teacher = DINOv2Teacher(str(path), arch='vit_giant_patch14_dinov2', input_size=SIZE, arch_kwargs=TINY)
    assert teacher.load_report.count('loaded') == len(ref.state_dict())
    ref.set_input_size(img_size=SIZE)  # timm's own pos_embed resampling to 2 x 3
    images = _images()
    expect = ref.forward_intermediates(_normalise(teacher, images), indices=[1], intermediates_only=True)[0]
    torch.testing.assert_close(teacher(images).flatten(0, 1), expect)


def test_dinov2_registers_official_layout(tmp_path):
    """Official reg4 files keep the CLS position in pos_embed and call the registers register_tokens."""
    torch.manual_seed(0)
    ref = _randomise(
        timm.create_model(
            'vit_small_patch14_reg4_dinov2', pretrained=False, img_size=518, num_classes=0, **TINY
        )
    )
    state = dict(ref.state_dict())
    assert state['pos_embed'].shape[1] == 37 * 37  # timm: no prefix positions
    state['register_tokens'] = state.pop('reg_token')
    state['pos_embed'] = torch.cat([torch.zeros(1, 1, 32), state['pos_embed']], dim=1)
    path = tmp_path / 'dinov2_vits14_reg4_pretrain.pth'
    torch.save(dict(state, mask_token=torch.zeros(1, 32)), path)
    teacher = DINOv2Teacher(
        str(path), arch='vit_small_patch14_reg4_dinov2', input_size=SIZE, arch_kwargs=TINY
    )
    assert teacher.load_report.count('loaded') == len(ref.state_dict())
    ref.set_input_size(img_size=SIZE)
    images = _images()
    expect = ref.forward_intermediates(_normalise(teacher, images), indices=[1], intermediates_only=True)[0]
    torch.testing.assert_close(teacher(images).flatten(0, 1), expect)


def test_dinov2_timm_layout_out_stride_and_input_conventions(tmp_path):
    ref = _timm_dinov2(SIZE)
    path = tmp_path / 'timm_dinov2.pth'
    torch.save(ref.state_dict(), path)
    teacher = DINOv2Teacher(str(path), input_size=SIZE, arch_kwargs=TINY)
    assert teacher.layout == 'timm' and teacher.load_report.count('loaded') == len(ref.state_dict())
    images = _images()
    expect = ref.forward_intermediates(_normalise(teacher, images), indices=[1], intermediates_only=True)[0]
    torch.testing.assert_close(teacher(images).flatten(0, 1), expect)
    assert torch.equal(teacher(images, tokens=['a', 'b']), teacher(images))  # the cache reader's call
    # upsampled to stride 7: bilinear of the patch grid
    up = DINOv2Teacher(str(path), input_size=SIZE, out_stride=7, arch_kwargs=TINY)
    out = up(images)
    assert out.shape == (2, 3, 32, 4, 6)
    torch.testing.assert_close(out.flatten(0, 1), F.interpolate(expect, size=(4, 6), mode='bilinear'))
    # 0-255 BGR images give the same features as [0, 1] RGB ones
    bgr = DINOv2Teacher(str(path), input_size=SIZE, input_range='255', channel_order='bgr', arch_kwargs=TINY)
    torch.testing.assert_close(bgr(images.flip(2) * 255), teacher(images))
    # other image sizes are resized to input_size
    big = _images(size=(56, 84))
    small = F.interpolate(big.flatten(0, 1), size=SIZE, mode='bilinear', antialias=True).unflatten(0, (2, 3))
    torch.testing.assert_close(teacher(big), teacher(small))


def test_dinov2_precisions_on_cpu(tmp_path):
    ref = _timm_dinov2(SIZE)
    path = tmp_path / 'timm_dinov2.pth'
    torch.save(ref.state_dict(), path)
    images = _images()
    fp32 = DINOv2Teacher(str(path), input_size=SIZE, arch_kwargs=TINY)(images)
    bf16 = DINOv2Teacher(str(path), input_size=SIZE, dtype='bf16', arch_kwargs=TINY)(images)
    assert bf16.dtype == torch.float32 and not torch.equal(bf16, fp32)  # ran under bf16 autocast
    torch.testing.assert_close(bf16, fp32, atol=0.1, rtol=0.05)
    fp16 = DINOv2Teacher(str(path), input_size=SIZE, dtype='fp16', arch_kwargs=TINY)
    with pytest.warns(UserWarning, match='fp32'):
        out = fp16(images)
    assert torch.equal(out, fp32)


def test_weight_file_errors_name_the_file(tmp_path):
    missing = tmp_path / 'nope.pth'
    with pytest.raises(FileNotFoundError, match='nope.pth.*official'):
        DINOv2Teacher(str(missing), input_size=SIZE, arch_kwargs=TINY)
    garbage = tmp_path / 'garbage.pth'
    garbage.write_bytes(b'not a checkpoint')
    with pytest.raises(ValueError, match='garbage.pth.*cannot be read.*official'):
        DINOv2Teacher(str(garbage), input_size=SIZE, arch_kwargs=TINY)
    with pytest.raises(ValueError, match='garbage.pth.*TorchScript'):
        CLIPTeacher(str(garbage), input_size=SIZE, vision_cfg=CLIP_TINY)
    other = tmp_path / 'other.pth'
    torch.save({'encoder.weight': torch.zeros(2, 2)}, other)
    with pytest.raises(ValueError, match='other.pth.*neither accepted layout'):
        DINOv2Teacher(str(other), input_size=SIZE, arch_kwargs=TINY)
    with pytest.raises(ValueError, match='other.pth.*neither accepted layout'):
        CLIPTeacher(str(other), input_size=SIZE, vision_cfg=CLIP_TINY)
    # the right layout but another size: missing keys are an error, reported first
    small = tmp_path / 'depth2.pth'
    torch.save(_timm_dinov2(SIZE).state_dict(), small)
    with pytest.raises(ValueError, match=r'depth2.pth.*1[0-9] missing'):
        DINOv2Teacher(str(small), input_size=SIZE, arch_kwargs=dict(TINY, depth=3))
    # a pos_embed of a non-square grid other than the teacher's cannot be resampled
    with pytest.raises(ValueError, match=r'depth2.pth: pos_embed has 6 patch positions'):
        DINOv2Teacher(str(small), input_size=(42, 42), arch_kwargs=TINY)
    tower = tmp_path / 'clip_2x3.pth'
    torch.save(_clip_tower(SIZE).state_dict(), tower)
    with pytest.raises(ValueError, match=r'clip_2x3.pth: positional_embedding has 6 patch positions'):
        CLIPTeacher(str(tower), input_size=(42, 42), vision_cfg=CLIP_TINY)


def test_frozen_eval_no_grad_and_no_download(tmp_path, monkeypatch):
    import huggingface_hub

    def _fail(*args, **kwargs):
        raise AssertionError('a download was attempted')

    monkeypatch.setattr(huggingface_hub, 'hf_hub_download', _fail)
    monkeypatch.setattr(torch.hub, 'download_url_to_file', _fail)
    path, _ = _official_file(tmp_path)
    teacher = DINOv2Teacher(str(path), input_size=SIZE, arch_kwargs=TINY)
    assert not any(p.requires_grad for p in teacher.parameters())
    teacher.train()
    assert not teacher.training and not any(m.training for m in teacher.modules())
    images = _images().requires_grad_(True)
    assert not teacher(images).requires_grad
    with no_download(), pytest.raises(RuntimeError, match='never download'):
        torch.hub.load_state_dict_from_url('https://example.invalid/w.pth')
    assert torch.hub.load_state_dict_from_url is not None


def _clip_tower(image_size):
    import open_clip
    from open_clip.model import _build_vision_tower

    cfg = open_clip.get_model_config('ViT-B-16')
    torch.manual_seed(0)
    visual = _build_vision_tower(
        cfg['embed_dim'], dict(cfg['vision_cfg'], image_size=image_size, **CLIP_TINY)
    )
    return _randomise(visual)


def test_clip_full_model_layout_equals_open_clip(tmp_path):
    visual = _clip_tower(SIZE)
    path = tmp_path / 'open_clip_full.pth'
    text = {'text_projection': torch.zeros(4, 4), 'token_embedding.weight': torch.zeros(8, 4)}
    torch.save(
        {
            'state_dict': {f'module.visual.{k}': v for k, v in visual.state_dict().items()}
            | {f'module.{k}': v for k, v in text.items()}
        },
        path,
    )
    for after_norm in (False, True):
        teacher = CLIPTeacher(str(path), input_size=SIZE, vision_cfg=CLIP_TINY, after_norm=after_norm)
        assert teacher.layout == 'open_clip full model'
        assert teacher.load_report.count('loaded') == len(visual.state_dict())
        assert teacher.load_report.count('missing') == 0
        images = _images()
        expect = visual.forward_intermediates(
            _normalise(teacher, images),
            indices=[1],
            normalize_intermediates=after_norm,
            intermediates_only=True,
        )['image_intermediates'][0]
        torch.testing.assert_close(teacher(images).flatten(0, 1), expect)


def test_clip_tower_layout_resized_equals_timm_clip(tmp_path):
    """A 56 px (4 x 4) tower file run at 28 x 42: timm's CLIP ViT on timm's conversion agrees."""
    from timm.models.vision_transformer import VisionTransformer, checkpoint_filter_fn

    visual = _clip_tower(56)
    path = tmp_path / 'clip_visual.pth'
    torch.save(visual.state_dict(), path)
    teacher = CLIPTeacher(str(path), input_size=SIZE, vision_cfg=CLIP_TINY)
    assert teacher.layout == 'open_clip image tower'
    ref = VisionTransformer(
        img_size=SIZE,
        patch_size=14,
        embed_dim=32,
        depth=2,
        num_heads=2,
        pre_norm=True,
        norm_layer=nn.LayerNorm,
        num_classes=512,
        global_pool='token',
    ).eval()
    converted = checkpoint_filter_fn({f'visual.{k}': v for k, v in visual.state_dict().items()}, ref)
    ref.load_state_dict(converted, strict=True)
    images = _images()
    expect = ref.forward_intermediates(_normalise(teacher, images), indices=[1], intermediates_only=True)[0]
    torch.testing.assert_close(teacher(images).flatten(0, 1), expect, atol=1e-4, rtol=1e-4)


def test_clip_torchscript_and_safetensors_files(tmp_path):
    """OpenAI ships TorchScript archives (keys ``visual.*``), HF hubs ``.safetensors``."""
    from safetensors.torch import save_file

    visual = _clip_tower(SIZE)

    class _Clip(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.visual = visual

        def forward(self, x):
            return self.visual(x)

    jit_path = tmp_path / 'ViT-B-16.pt'
    torch.jit.trace(_Clip().eval(), torch.rand(1, 3, *SIZE), check_trace=False).save(str(jit_path))
    st_path = tmp_path / 'open_clip_model.safetensors'
    save_file({f'visual.{k}': v.contiguous() for k, v in visual.state_dict().items()}, str(st_path))
    images = _images()
    outs = []
    for path in (jit_path, st_path):
        teacher = CLIPTeacher(str(path), input_size=SIZE, vision_cfg=CLIP_TINY)
        assert teacher.layout == 'open_clip full model'
        assert teacher.load_report.count('loaded') == len(visual.state_dict())
        outs.append(teacher(images))
    expect = visual.forward_intermediates(_normalise(teacher, images), indices=[1], intermediates_only=True)
    torch.testing.assert_close(outs[0].flatten(0, 1), expect['image_intermediates'][0])
    torch.testing.assert_close(outs[1], outs[0])
    with pytest.raises(ValueError, match='ViT-B-16.pt.*cannot be read'):
        DINOv2Teacher(str(jit_path), input_size=SIZE, arch_kwargs=TINY)


class _ToyDistiller(BaseSelfSupervisor):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.student = nn.Conv2d(3, 32, 14, stride=14)

    def extract_feat(self, inputs, data_samples=None):
        return self.student(inputs.flatten(0, 1))

    def loss(self, inputs, data_samples):
        target = self.generate_targets(inputs).flatten(0, 1)
        cos = F.cosine_similarity(self.extract_feat(inputs), target, dim=1).mean()
        return {'loss_feat': 1 - cos, 'teacher_cos': cos.detach()}


def test_teacher_in_a_self_supervisor_is_not_saved_nor_optimised(tmp_path):
    path, _ = _official_file(tmp_path)
    model = _ToyDistiller(
        target_generator=dict(type='DINOv2Teacher', checkpoint=str(path), input_size=SIZE, arch_kwargs=TINY)
    )
    model.train()
    assert not model.target_generator.training
    assert not any(k.startswith('target_generator.') for k in model.state_dict())
    assert set(model.state_dict()) == {'student.weight', 'student.bias'}
    ctor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(
            type='TrainableOptimWrapperConstructor',
            optim_wrapper_cfg=dict(optimizer=dict(type='SGD', lr=0.1)),
        )
    )
    wrapper = ctor(model)
    in_opt = {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}
    assert in_opt == {id(p) for p in model.student.parameters()}
    before = {k: v.clone() for k, v in model.target_generator.state_dict().items()}
    losses = model(_images(), [None, None], mode='loss')
    wrapper.update_params(losses['loss_feat'])
    after = model.target_generator.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
