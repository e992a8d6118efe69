"""The zero-shot segmentor with the real modules, in every mmseg mode."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from cascade_clip.models.layers import transformer as layers
from cascade_clip.testing import tiny_model_config
from cascade_clip_runtime.scores import sliding_windows

SEEN = list(range(15))
UNSEEN = [15, 16, 17, 18, 19]


def build(**overrides):
    torch.manual_seed(0)
    return MODELS.build(tiny_model_config(**overrides))


def samples(labels, ori_shape=None):
    result = []
    for label in labels:
        sample = SegDataSample()
        sample.gt_sem_seg = PixelData(data=label[None])
        shape = tuple(label.shape)
        sample.set_metainfo(
            dict(
                ori_shape=ori_shape or shape,
                img_shape=shape,
                pad_shape=shape,
                padding_size=[0, 0, 0, 0]))
        result.append(sample)
    return result


def random_labels(batch, height, width):
    labels = torch.randint(0, 20, (batch, height, width))
    labels[:, :2] = 255
    return labels


def test_loss_mode_on_non_square_images():
    model = build().train()
    img = torch.randn(2, 3, 48, 80)
    losses = model(img, samples(random_labels(2, 48, 80)), mode='loss')
    assert set(losses) == {
        'decode.loss_mask', 'decode.loss_dice', 'decode.acc_seg'
    }
    for value in losses.values():
        assert value.shape == () and torch.isfinite(value)
    (losses['decode.loss_mask'] + losses['decode.loss_dice']).backward()
    assert model.backbone.prompt_embeddings.grad.abs().sum() > 0
    assert model.decode_head.q_projs[0].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.text_encoder.parameters())


@pytest.mark.parametrize('mode', ['slide', 'whole'])
def test_predict_fills_pred_sem_seg(mode):
    model = build(
        test_cfg=dict(mode=mode, crop_size=(64, 64), stride=(48, 48))).eval()
    img = torch.randn(2, 3, 48, 80)
    with torch.no_grad():
        results = model(
            img, samples(random_labels(2, 48, 80), (60, 100)), mode='predict')
    assert len(results) == 2
    for result in results:
        assert result.pred_sem_seg.data.shape == (1, 60, 100)
        assert result.seg_logits.data.shape == (20, 60, 100)
        assert result.pred_sem_seg.data.max() < 20
        assert torch.equal(result.pred_sem_seg.data[0],
                           result.seg_logits.data.argmax(0))


def test_tensor_mode_gives_raw_masks_of_every_class():
    model = build().eval()
    with torch.no_grad():
        masks = model(torch.randn(3, 3, 48, 80), mode='tensor')
    assert masks.shape == (3, 20, 64, 64)


def test_test_step_from_uint8_data():
    """The runner's path: data preprocessor, then predict."""
    model = build().eval()
    data = dict(
        inputs=[torch.randint(0, 255, (3, 70, 90), dtype=torch.uint8)],
        data_samples=samples(random_labels(1, 70, 90)))
    with torch.no_grad():
        [result] = model.test_step(data)
    assert result.pred_sem_seg.data.shape == (1, 70, 90)


def test_windows_cover_the_image_and_batching_changes_nothing():
    windows = sliding_windows(100, 200, (64, 64), (48, 48))
    covered = np.zeros((100, 200), int)
    for y1, y2, x1, x2 in windows:
        assert y2 - y1 == 64 and x2 - x1 == 64
        covered[y1:y2, x1:x2] += 1
    assert covered.min() >= 1
    # smaller than the crop: one window the size of the image
    assert sliding_windows(40, 50, (64, 64), (48, 48)) == [(0, 40, 0, 50)]

    model = build().eval()
    img = torch.randn(2, 3, 100, 130)
    with torch.no_grad():
        together = model.slide_inference(img)
        model.test_cfg['windows_per_batch'] = 1
        apart = model.slide_inference(img)
    assert torch.allclose(together, apart, atol=1e-5)


def test_inductive_labels_map_seen_to_positions_and_drop_unseen():
    model = build(
        seen_classes=[3, 0, 7],
        unseen_classes=[i for i in range(20) if i not in (0, 3, 7)])
    labels = torch.tensor([[[3, 0, 7, 15, 255, 1]]])
    mapped = model.zero_shot_labels(labels, None)
    assert mapped.tolist() == [[[0, 1, 2, 255, 255, 255]]]


def test_transductive_pseudo_labels_come_from_unseen_channels():
    model = build(self_training=True)
    labels = torch.tensor([[[2, 15, 19, 255]]])
    pred_masks = torch.zeros(1, 20, 1, 4)
    pred_masks[0, 2] = 9.0  # a seen class scoring highest changes nothing
    pred_masks[0, 17, 0, 1] = 1.0
    pred_masks[0, 16, 0, 2] = 1.0
    mapped = model.zero_shot_labels(labels, pred_masks)
    assert mapped.tolist() == [[[2, 17, 16, 255]]]


def test_labels_outside_the_classes_are_an_error():
    model = build()
    with pytest.raises(ValueError, match=r'\[20, 77\]'):
        model.zero_shot_labels(torch.tensor([[[0, 20, 77, 255]]]), None)


def count_text_encodes(model) -> list:
    """Makes the model's text encoder record the number of prompts of each
    call in the returned list."""
    calls = []
    encode = model.text_encoder.encode

    def counting_encode(texts):
        calls.append(len(texts))
        return encode(texts)

    model.text_encoder.encode = counting_encode
    return calls


def test_class_embeddings_are_computed_once_and_reset_on_load():
    model = build().eval()
    calls = count_text_encodes(model)
    img = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        model(img, mode='tensor')
        model(img, mode='tensor')
    assert calls == [20]
    embeddings = model.get_class_embeddings()
    assert embeddings.shape == (20, 32)
    assert torch.allclose(embeddings.norm(dim=-1), torch.ones(20))

    model.load_state_dict(model.state_dict())
    model.get_class_embeddings()
    assert calls == [20, 20]


def test_text_embedding_file_with_another_class_count(tmp_path):
    path = str(tmp_path / 'voc.npy')
    np.save(path, np.ones((21, 32), np.float32))
    model = build(text_embeddings=path)
    with pytest.raises(
            ValueError,
            match=r'voc.npy holds embeddings for 21 '
            r'classes, but the config has 20'):
        model.get_class_embeddings()


@pytest.mark.parametrize('key,ids', [('unseen_classes', [15, 25]),
                                     ('seen_classes', [-1, 0])])
def test_class_ids_outside_the_dataset(key, ids):
    with pytest.raises(ValueError, match=f'{key} holds'):
        build(**{key: ids})


def test_open_vocabulary_classes():
    model = build().eval()
    model.set_classes(['cat', 'grass', 'sky'], 'multi')
    with torch.no_grad():
        [result] = model.predict(torch.randn(1, 3, 64, 96))
    assert result.seg_logits.data.shape == (3, 64, 96)
    assert model.seen_mask.all()
    with pytest.raises(ValueError, match='at least two'):
        model.set_classes(['cat'])


def test_layer_norms_under_bf16_autocast_match_float32(monkeypatch):
    """Every LayerNorm of the model under bfloat16 autocast gets its input
    uncast, with affine weights of the input's dtype, and gives the float32
    LayerNorm of that input up to one bfloat16 step."""
    model = build().eval()
    calls = []
    layer_norm = F.layer_norm

    def spy(x, shape, weight=None, bias=None, eps=1e-5):
        out = layer_norm(x, shape, weight, bias, eps)
        expected = layer_norm(x.float(), shape, weight.float(), bias.float(),
                              eps)
        step = 2.0**-7 * (expected.abs() + bias.float().abs()) + 1e-6
        calls.append((x.dtype, weight.dtype, out.dtype,
                      bool(((out.float() - expected).abs() <= step).all())))
        return out

    monkeypatch.setattr(layers.F, 'layer_norm', spy)
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        masks = model(torch.randn(1, 3, 64, 64), mode='tensor')
    assert torch.isfinite(masks).all()
    # 12 blocks x 2, ln_pre, ln_post, prompt_norm 7x, 6 ln_layers,
    # 2 text blocks x 2 + ln_final, 3 decoders x 2 layers x 2
    assert len(calls) >= 12 * 2 + 2 + 7 + 6 + 5 + 12
    assert all(close for *_, close in calls)
    assert {call[:3]
            for call in calls} == {
                (torch.bfloat16, ) * 3,  # image encoder and head
                (torch.float32, ) * 3,  # text encoder, cached in float32
            }


def test_class_embeddings_cached_under_autocast_are_full_precision():
    model = build().eval()
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        model(torch.randn(1, 3, 64, 64), mode='tensor')
    cached = model.class_embeddings
    assert cached.dtype == torch.float32
    assert torch.equal(cached, model.compute_class_embeddings())


def test_more_classes_than_a_label_byte_holds():
    model = build(
        class_names=[f'class {i}' for i in range(300)],
        unseen_classes=[270, 299]).eval()
    labels = torch.tensor([[[0, 269, 270, 299, 255]]])
    assert model.zero_shot_labels(labels,
                                  None).tolist() == [[[0, 269, 255, 255, 255]]]
    model.set_classes([f'thing {i}' for i in range(260)])
    with torch.no_grad():
        [result] = model.predict(torch.randn(1, 3, 64, 64))
    assert result.seg_logits.data.shape[0] == 260


def test_slide_inference_equals_a_hand_loop_over_the_windows():
    """docs/method.md §6: per axis n = max(L - crop + stride - 1, 0) //
    stride + 1 windows, the last shifted back to end at the border; overlaps
    averaged. For 80 x 130 with 64 / 48: rows start at 0 and 16, columns
    at 0, 48 and 66."""
    model = build().eval()
    img = torch.randn(1, 3, 80, 130)
    starts_y, starts_x = [0, 16], [0, 48, 66]
    total = torch.zeros(1, 20, 80, 130)
    covered = torch.zeros(80, 130)
    with torch.no_grad():
        for y in starts_y:
            for x in starts_x:
                window = img[:, :, y:y + 64, x:x + 64]
                total[:, :, y:y + 64, x:x + 64] += model.encode_decode(window)
                covered[y:y + 64, x:x + 64] += 1
        slide = model.slide_inference(img)
    assert covered.min() == 1 and covered.max() == 4
    assert torch.allclose(slide, total / covered, atol=1e-6)


def test_every_trainable_parameter_gets_a_gradient_and_frozen_ones_none():
    model = build(
        decode_head=dict(tiny_model_config()['decode_head'],
                         dropout=0.0)).train()
    img = torch.randn(2, 3, 48, 80)
    losses = model(img, samples(random_labels(2, 48, 80)), mode='loss')
    (losses['decode.loss_mask'] + losses['decode.loss_dice']).backward()
    unused = ('cross_attn.v.', 'cross_attn.proj.', 'norm_attn.', 'linear1.',
              'linear2.', 'norm_ffn.')
    last = f'layers.{model.decode_head.num_layers - 1}.'
    for name, param in model.named_parameters():
        if not param.requires_grad:
            assert param.grad is None, name
        elif last in name and any(part in name for part in unused):
            assert param.grad is None, name  # feeds no mask
        else:
            assert param.grad is not None, name
    assert not any(p.requires_grad for p in model.text_encoder.parameters())


def test_the_model_owns_its_classes_and_their_embeddings():
    model = build().eval()
    given = torch.nn.functional.normalize(torch.randn(4, 32), dim=-1)
    model.set_classes(given, unseen_classes=[3])
    assert model.class_names is None and model.num_classes == 4
    assert model.seen_classes == [0, 1, 2] and model.unseen_classes == [3]
    assert model.seen_mask.tolist() == [True, True, True, False]
    model.load_state_dict(model.state_dict())  # given ones survive a load
    assert torch.equal(model.get_class_embeddings(), given)
    assert model.cache_class_embeddings(placeholder=True) == 'given'
    with pytest.raises(ValueError, match=r'\(4, 32\)'):
        model.set_classes(torch.randn(4, 16))

    model.set_classes(['cat', 'dog', 'sky'])
    assert model.cache_class_embeddings(placeholder=True) == 'placeholder'
    placeholder = model.class_embeddings
    assert placeholder.shape == (3, 32)
    model.set_classes(['cat', 'dog', 'sky'])  # the same classes: cache kept
    assert model.class_embeddings is placeholder
    model.set_classes(['cat', 'dog', 'sky'], 'multi')  # other templates
    assert model.class_embeddings is None
    assert model.cache_class_embeddings() == 'text encoder'


def test_classes_by_name():
    names = [f'class {i}' for i in range(20)]
    model = build(class_names=names, unseen_classes=['class 16', 'class 15'])
    assert model.unseen_classes == [16, 15]
    assert model.seen_classes == list(range(15)) + [17, 18, 19]
    with pytest.raises(ValueError, match=r"\['sheep'\] are not among the 20"):
        build(class_names=names, unseen_classes=['sheep'])


def test_847_classes_embedded_once_for_every_window_and_image():
    """ADE20K-847: the text encoder runs once (in chunks of 256 prompts)
    for the whole evaluation, not per window or per image."""
    from cascade_clip.structures.class_names import ADE20K_847_CLASSES
    model = build(
        class_names=list(ADE20K_847_CLASSES),
        unseen_classes=[],
        ignore_index=65535).eval()
    calls = count_text_encodes(model)
    image = torch.randn(1, 3, 64, 150)  # 3 windows of 64 x 64
    with torch.no_grad():
        for _ in range(2):
            [result] = model.predict(image)
    assert calls == [256, 256, 256, 79]
    assert result.seg_logits.data.shape == (847, 64, 150)
    assert 0 <= result.pred_sem_seg.data.min()
    assert result.pred_sem_seg.data.max() < 847


def test_bf16_autocast_inference_and_losses_are_close_to_float32():
    """The --amp paths on the CPU: bfloat16 autocast gives the float32
    scores and losses up to bfloat16 rounding."""
    model = build(
        decode_head=dict(tiny_model_config()['decode_head'], dropout=0.0),
        backbone=dict(
            tiny_model_config()['backbone'],
            drop_path_rate=0.0,
            prompt_dropout=0.0))
    img = torch.randn(2, 3, 64, 96)
    labels = random_labels(2, 64, 96)
    results = []
    for amp in (False, True):
        with torch.no_grad(), torch.autocast(
                'cpu', torch.bfloat16, enabled=amp):
            model.eval()
            scores = model.slide_inference(img)
            model.train()
            losses = model(img, samples(labels), mode='loss')
        results.append((scores.float(), losses))
    (scores, losses), (scores_bf16, losses_bf16) = results
    assert (scores_bf16 - scores).abs().max() < 3e-2
    assert not torch.equal(scores_bf16, scores)  # it did run in bfloat16
    for key in ('decode.loss_mask', 'decode.loss_dice'):
        assert torch.allclose(
            losses_bf16[key].float(), losses[key], rtol=3e-2), key


@pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason='CUDA graphs need a CUDA GPU; this machine has none (the CPU '
    'path ignores cuda_graph, which the other inference tests cover)')
def test_cuda_graph_inference_equals_eager():
    model = build().cuda().eval()
    img = torch.randn(1, 3, 80, 130, device='cuda')
    with torch.no_grad():
        for amp in (False, True):
            with torch.autocast('cuda', torch.bfloat16, enabled=amp):
                model.test_cfg['cuda_graph'] = False
                eager = [model.slide_inference(img + i) for i in range(2)]
                model.test_cfg['cuda_graph'] = True
                graphed = [model.slide_inference(img + i) for i in range(2)]
            for a, b in zip(eager, graphed):
                assert torch.allclose(a, b, atol=1e-5 if not amp else 1e-2)
        # new classes: captured again, with the new embeddings
        model.set_classes(['cat', 'dog', 'sky'])
        graphed = model.slide_inference(img)
        model.test_cfg['cuda_graph'] = False
        eager = model.slide_inference(img)
        assert graphed.shape[1] == 3
        assert torch.allclose(graphed, eager, atol=1e-5)
        # a frozen weight edited in place: captured again, since a bf16
        # graph holds the frozen weights' bf16 copies (sharper masks first,
        # so that the edit moves the scores well beyond bf16 rounding)
        for decoder in model.decode_head.decoders:
            decoder.layers[-1].cross_attn.q.weight.mul_(300)
        with torch.autocast('cuda', torch.bfloat16):
            model.test_cfg['cuda_graph'] = True
            before = model.slide_inference(img)
            model.backbone.transformer.resblocks[0].mlp.c_fc.weight.mul_(1.5)
            graphed = model.slide_inference(img)
            model.test_cfg['cuda_graph'] = False
            eager = model.slide_inference(img)
    assert not torch.allclose(before, graphed, atol=1e-2)
    assert torch.allclose(graphed, eager, atol=1e-2)


@pytest.mark.skipif(
    not torch.cuda.is_available(),
    reason='the compiled image encoder is a GPU option (benchmark '
    '--compile); this machine has no CUDA GPU')
def test_compiled_backbone_equals_eager():
    model = build().cuda().eval()
    img = torch.randn(2, 3, 64, 96, device='cuda')
    with torch.no_grad():
        eager = model(img, mode='tensor')
        model.compile_backbone()
        compiled = model(img, mode='tensor')
        with torch.autocast('cuda', torch.bfloat16):
            compiled_bf16 = model(img, mode='tensor')
    assert torch.allclose(compiled, eager, atol=1e-4)
    assert (compiled_bf16.float() - eager).abs().max() < 0.1
    assert model.state_dict().keys() == build().state_dict().keys()


def test_parts_of_different_joint_widths_are_refused():
    cfg = tiny_model_config()
    cfg['backbone'] = dict(cfg['backbone'], embed_dims=48)
    with pytest.raises(ValueError) as info:
        MODELS.build(cfg)
    assert str(info.value).endswith(
        'the image encoder, text encoder and head must share the width of '
        'CLIP\'s joint space: embed_dims are backbone 48, text_encoder 32, '
        'decode_head 32')
