"""Seamless tiles for the LoRA tests to train on, as the procedural engine writes them (the `tiles`
fixture in conftest.py, and test_lora_knobs.py's own with tags in the captions)."""


def made_tiles(folder, caption: str = "{style} pattern") -> list[dict]:
    """Three seamless tiles (two basic stripes, one half-drop checks), each with its caption, repeat and a
    stand-in sha256."""
    from desktop.engine.generate import GenerateRequest, run_generate

    made = []
    for style, repeat, seed in (("stripes", "basic", 1), ("checks", "half-drop", 2), ("stripes", "basic", 3)):
        made += run_generate(GenerateRequest(style=style, repeat=repeat, width=64, height=64, seed=seed,
                                             out_dir=str(folder)))
    return [{"file": t.path, "caption": caption.format(style=t.metadata["style"]), "repeat": t.metadata["repeat"],
             "sha256": f"{k:064x}"} for k, t in enumerate(made)]


class Ctx:
    """A training job's context that asks to stop once step `stop_after` is reported (None: never)."""

    def __init__(self, stop_after=None):
        self.stop_after, self.cancelled, self.messages = stop_after, False, []

    def progress(self, step, total=None, message=None):
        self.messages.append(message)
        if self.stop_after is not None and message and message.startswith(f"step {self.stop_after} "):
            self.cancelled = True

    def preview(self, image):
        pass

    def check_cancelled(self):
        from desktop.jobs import JobCancelled

        if self.cancelled:
            raise JobCancelled()
