"""Repeat padding makes a (tiny, random) Stable Diffusion UNet + VAE equivariant to the repeat.

With repeat padding on every convolution and a deterministic scheduler (DDIM, eta 0), moving
the initial latents along the plane by k latent pixels (k a multiple of the UNet's
downsampling) moves the decoded image by k x the VAE's scale factor, to float tolerance, for
each repeat's own lattice. Tiny models are built from configs, as diffusers' tests do.
"""

from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")
diffusers = pytest.importorskip("diffusers")

from desktop.engine.diffusion.padding import apply_repeat_padding, repeat_padding, restore_padding  # noqa: E402
from desktop.repeat import window  # noqa: E402
from tiny_sd import ddim, tiny_unet, tiny_vae  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    unet, vae = tiny_unet(), tiny_vae()
    torch.manual_seed(1)
    text = torch.randn(1, 7, 32)
    latents = torch.randn(1, 4, 16, 16)
    return unet, vae, ddim(), text, latents


def sample(tiny, latents):
    unet, vae, scheduler, text, _ = tiny
    scheduler.set_timesteps(2)
    x = latents.clone()
    with torch.no_grad():
        for t in scheduler.timesteps:
            noise = unet(x, t, encoder_hidden_states=text).sample
            x = scheduler.step(noise, t, x, eta=0.0).prev_sample
        return vae.decode(x / vae.config.scaling_factor).sample


@pytest.mark.parametrize("repeat,shift", [("basic", (4, 2)), ("basic", (6, 10)), ("half-drop", (4, 0)),
                                          ("half-drop", (2, 6)), ("half-brick", (0, 4)), ("half-brick", (6, 2))])
def test_moving_the_latents_moves_the_image(tiny, repeat, shift):
    unet, vae, _, _, latents = tiny
    dx, dy = shift
    with repeat_padding([unet, vae], repeat, latent_size=(16, 16)):
        image = sample(tiny, latents)
        moved = sample(tiny, window(latents, repeat, dx, dy, 16, 16))
    scale = image.shape[-1] // latents.shape[-1]  # the VAE's scale factor
    expected = window(image, repeat, dx * scale, dy * scale, image.shape[-1], image.shape[-2])
    assert scale == 2
    assert torch.allclose(moved, expected, atol=1e-4), float((moved - expected).abs().max())


def test_zero_padding_does_not_have_the_property(tiny):
    """Control: without repeat padding, moving the latents does not simply move the image."""
    _, _, _, _, latents = tiny
    image = sample(tiny, latents)
    moved = sample(tiny, window(latents, "basic", 4, 2, 16, 16))
    expected = window(image, "basic", 8, 4, 32, 32)
    assert (moved - expected).abs().max() > 1e-2


def test_padding_is_restored_and_covers_every_padded_conv(tiny):
    unet, _, _, _, latents = tiny
    before = sample(tiny, latents)
    convs = [m for m in unet.modules() if isinstance(m, torch.nn.Conv2d) and m.padding != (0, 0)]
    assert apply_repeat_padding(unet, "half-drop") == len(convs)
    assert all(m.padding == (0, 0) for m in convs)
    assert restore_padding(unet) == len(convs)
    assert all(m.padding != (0, 0) for m in convs)
    assert torch.equal(sample(tiny, latents), before)


def test_an_odd_latent_is_refused_for_half_drop(tiny):
    unet = tiny[0]
    from desktop.errors import UserError

    with pytest.raises(UserError, match="even"), repeat_padding([unet], "half-drop", latent_size=(16, 15)):
        pass
    assert all(not hasattr(m, "_tessera_repeat") for m in unet.modules())


@pytest.mark.parametrize("axes", ["x", "y"])
def test_one_axis_tiling_wraps_that_axis_only(tiny, axes):
    """A border that repeats along x: moving the latents along x moves the image; along y it does not."""
    unet, vae, _, _, latents = tiny
    along, across = ((4, 0), (0, 4)) if axes == "x" else ((0, 4), (4, 0))
    with repeat_padding([unet, vae], "basic", latent_size=(16, 16), axes=axes):
        image = sample(tiny, latents)
        moved = sample(tiny, window(latents, "basic", *along, 16, 16))
        crossed = sample(tiny, window(latents, "basic", *across, 16, 16))
    expected = window(image, "basic", along[0] * 2, along[1] * 2, 32, 32)
    assert torch.allclose(moved, expected, atol=1e-4)
    not_expected = window(image, "basic", across[0] * 2, across[1] * 2, 32, 32)
    assert (crossed - not_expected).abs().max() > 1e-2


def test_one_axis_tiling_is_for_the_basic_repeat(tiny):
    from desktop.errors import UserError

    with pytest.raises(UserError, match="basic repeat"), repeat_padding([tiny[0]], "half-drop", axes="x"):
        pass
    with pytest.raises(UserError, match="axes"), repeat_padding([tiny[0]], "basic", axes="z"):
        pass


def test_tiled_vae_decoding_follows_the_repeat(tiny):
    """Windows laid on the repeat: close to the whole decode, no worse at the seam than inside,
    and moving the latents by whole windows (a stride of 24, which the half-drop lattice keeps)
    moves the image exactly."""
    from desktop.engine.diffusion.vae_tiling import tiled_decode

    _, vae, _, _, _ = tiny
    latents = torch.randn(1, 4, 48, 48, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        with repeat_padding([vae], "half-drop"):
            whole = vae.decode(latents).sample
        tiled = tiled_decode(vae, latents, "half-drop", tile=32, overlap=8)
    assert tiled.shape == whole.shape == (1, 3, 96, 96)
    assert all(getattr(m, "_tessera_repeat", None) is None for m in vae.modules())
    error = (tiled - whole).abs().mean(dim=(0, 1))
    seam = torch.cat([error[:, :2], error[:, -2:], error[:2, :].T, error[-2:, :].T], dim=1).mean()
    inner = error[16:80, 16:80].mean()
    # a random tiny VAE normalises over few pixels, so windows differ more than a real VAE's would
    assert error.mean() < 0.2 * whole.std() and seam < 1.5 * inner, (float(error.mean()), float(seam), float(inner))
    with torch.no_grad():
        moved = tiled_decode(vae, window(latents, "half-drop", 24, 24, 48, 48), "half-drop", tile=32, overlap=8)
    assert torch.allclose(moved, window(tiled, "half-drop", 48, 48, 96, 96), atol=1e-4)


@pytest.mark.parametrize("repeat", ["basic", "half-drop", "half-brick", "mirror"])
def test_the_fast_border_equals_the_geometrys_index_maps(repeat):
    """The convolutions pad with slices and rolls; they must give exactly what repeat.window_index says."""
    import torch.nn.functional as F

    from desktop.engine.diffusion.padding import _index_maps, pad_fast
    from desktop.repeat import parse_repeat

    x = torch.randn(2, 3, 6, 8)
    for pads in [(1, 1, 1, 1), (0, 1, 0, 1), (2, 3, 1, 0), (8, 8, 6, 6)]:
        for axes in (["xy", "x", "y"] if repeat == "basic" else ["xy"]):
            rows, cols = _index_maps(parse_repeat(repeat), 8, 6, pads, axes, "cpu")
            expected = x[..., rows, cols]
            if axes == "x":
                expected = F.pad(expected, (0, 0, pads[2], pads[3]))
            elif axes == "y":
                expected = F.pad(expected, (pads[0], pads[1], 0, 0))
            assert torch.equal(pad_fast(x, parse_repeat(repeat), pads, axes), expected), (pads, axes)
            if axes == "xy":  # the one-kernel border (CUDA, channels-last) says the same
                from desktop.engine.diffusion.padding import pad_gather

                assert torch.equal(pad_gather(x, parse_repeat(repeat), pads), expected), pads


@pytest.mark.parametrize("repeat", ["basic", "half-drop", "half-brick", "mirror"])
def test_a_channels_last_tensor_stays_channels_last_through_the_border(repeat):
    """A border in the other layout would make every convolution convert its input back (one more copy)."""
    from desktop.engine.diffusion.padding import pad_fast, pad_gather
    from desktop.repeat import parse_repeat

    x = torch.randn(2, 5, 6, 8)
    last = x.contiguous(memory_format=torch.channels_last)
    for pad in (pad_fast, pad_gather):
        for tensor in (x, last):
            out = pad(tensor, parse_repeat(repeat), (1, 1, 1, 1))
            assert torch.equal(out, pad_fast(x, parse_repeat(repeat), (1, 1, 1, 1)))
            assert out.is_contiguous(memory_format=torch.channels_last) == (tensor is last), (pad, repeat)


def test_a_channels_last_unet_pads_through_the_gather_and_keeps_its_picture(tiny, monkeypatch):
    """The gather path (what CUDA runs) gives the slice path's result through a whole UNet."""
    from desktop.engine.diffusion import padding

    unet, _, _, text, latents = tiny
    gathers = []
    monkeypatch.setattr(padding, "pad_gather", lambda *a, real=padding.pad_gather: gathers.append(1) or real(*a))
    with repeat_padding([unet], "half-drop", latent_size=(16, 16)), torch.no_grad():
        expected = unet(latents, 500, encoder_hidden_states=text).sample
        unet.to(memory_format=torch.channels_last)
        try:
            got = unet(latents.contiguous(memory_format=torch.channels_last), 500,
                       encoder_hidden_states=text).sample
        finally:
            unet.to(memory_format=torch.contiguous_format)
    assert torch.allclose(got, expected, atol=1e-5), float((got - expected).abs().max())
    convs = [m for m in unet.modules() if isinstance(m, torch.nn.Conv2d) and m.padding != (0, 0)]
    assert len(gathers) == len(convs)  # every padded convolution ran the gather


# SD 1.5's depth: four resolution levels, three halvings (tiny channels, random weights)
DEEP_UNET = dict(block_out_channels=(8, 8, 16, 16), layers_per_block=1, norm_num_groups=8, sample_size=16,
                 in_channels=4, out_channels=4, cross_attention_dim=32, attention_head_dim=4,
                 down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
                 up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3)


@pytest.fixture(scope="module")
def deep():
    torch.manual_seed(0)
    unet = diffusers.UNet2DConditionModel(**DEEP_UNET).eval()
    torch.manual_seed(2)
    return unet, torch.randn(1, 7, 32), torch.randn(1, 4, 24, 24)


def _moved_error(deep, repeat, h, w, shift):
    """max |UNet(latents moved along the plane) - the UNet's output moved the same way|, padding on."""
    unet, text, noise = deep
    latents = noise[..., :h, :w].contiguous()
    dx, dy = shift
    apply_repeat_padding(unet, repeat)
    try:
        with torch.no_grad():
            out = unet(latents, 10, encoder_hidden_states=text).sample
            moved = unet(window(latents, repeat, dx, dy, w, h), 10, encoder_hidden_states=text).sample
    finally:
        restore_padding(unet)
    return float((moved - window(out, repeat, dx, dy, w, h)).abs().max())


@pytest.mark.parametrize("repeat", ["basic", "half-drop", "half-brick"])
def test_every_repeat_is_exact_at_the_sizes_the_rule_accepts(deep, repeat):
    """At SD 1.5's depth, a latent side of 16 (128 px) keeps every repeat exact: moving the latents by
    a whole coarsest pixel (8 latent pixels) moves the UNet's output with them."""
    from desktop.engine.diffusion.pipeline import unet_halvings
    from desktop.repeat import check_steps

    assert unet_halvings(SimpleNamespace(unet=deep[0])) == 3
    check_steps(repeat, 16, 16, 3)  # accepted
    for shift in ((8, 0), (0, 8), (8, 8)):
        assert _moved_error(deep, repeat, 16, 16, shift) < 1e-4, shift


@pytest.mark.parametrize("repeat,h,w", [("half-drop", 24, 16), ("half-brick", 16, 24)])
def test_a_size_whose_coarsest_level_is_odd_is_refused_not_drawn_wrong(deep, repeat, h, w):
    """24 latent pixels (192 px; SD 1.5's 576 px is the same case) halve to 3 at the coarsest level,
    where half a tile is not a whole pixel: drawn anyway the repeat is off (the reason for the rule),
    so the pipeline refuses it with one sentence before drawing."""
    from desktop.engine.diffusion.pipeline import DiffusionRequest, check_request
    from desktop.errors import UserError

    assert _moved_error(deep, repeat, h, w, (8, 8)) > 1e-2  # what the old fallback drew
    pipe = SimpleNamespace(unet=deep[0], vae_scale_factor=8)
    with pytest.raises(UserError, match=r"must be a multiple of 128 px for this repeat \(try 128 or 256\)"):
        check_request(pipe, DiffusionRequest("linen", repeat=repeat, width=w * 8, height=h * 8))
    assert check_request(pipe, DiffusionRequest("linen", repeat=repeat, width=128, height=128)) == (16, 16)
