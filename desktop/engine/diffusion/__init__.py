"""The diffusion engine (Stable Diffusion through diffusers). torch and diffusers are imported
inside these modules only, never on the window's start-up path."""
