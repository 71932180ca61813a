"""`tessera lora train|list`: style LoRAs trained from the library's tiles, and the ones on disk."""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from desktop.errors import UserError


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    lora = sub.add_parser("lora", parents=[common], help="style LoRAs: train one from the library, list them")
    cmds = lora.add_subparsers(dest="lora_command", metavar="ACTION", required=True)
    tr = cmds.add_parser("train", parents=[common], help="train a style LoRA from library tiles (approved by default)",
                         description="Train a style LoRA (peft, kohya .safetensors) from library tiles, through "
                         "their repeats. The set is the approved tiles unless --status, --tag, --collection or "
                         "--ids say otherwise. Ctrl-C stops at the next step and writes no LoRA; the run is saved "
                         "(a checkpoint beside the LoRA, NAME.checkpoints) and --resume goes on from it to the "
                         "weights an unstopped run reaches. A finished run removes its checkpoints. "
                         "Exit 0: the LoRA is written; 2: bad input, a run that cannot go on (it diverged, or "
                         "ran out of memory even at one tile a step) or a stop; 3: an internal error (the log "
                         "has the details).")
    tr.add_argument("--model", required=True, help="the base model: a registered name, a folder, a .safetensors")
    tr.add_argument("--name", required=True, help="the LoRA's name (its file is NAME.safetensors)")
    tr.add_argument("--trigger", default="", help="a trigger word put before every caption (and in the file)")
    tr.add_argument("--status", default="approved",
                    help="tiles of this status (default approved, which takes published ones too; 'any' for all)")
    tr.add_argument("--tag", action="append", help="only tiles with this tag (repeatable: every one)")
    tr.add_argument("--collection", help="only tiles in this collection")
    tr.add_argument("--ids", help="exactly these pattern ids, comma-separated (whatever their status)")
    tr.add_argument("--min-rating", type=int, default=0, help="only tiles rated at least this")
    tr.add_argument("--steps", type=int, default=500, help="training steps (default 500)")
    tr.add_argument("--rank", type=int, default=16, help="LoRA rank (default 16)")
    tr.add_argument("--alpha", type=float, default=0.0, help="LoRA alpha (default: the rank)")
    tr.add_argument("--lr", type=float, default=1e-4, help="learning rate (default 1e-4)")
    tr.add_argument("--batch-size", type=int, default=1, help="tiles per step (default 1)")
    tr.add_argument("--resolution", type=int, default=0, help="training size (default: 512 SD 1.5, 1024 SDXL)")
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--no-shift", action="store_true", help="always see a tile from its own origin")
    tr.add_argument("--flip", action="store_true", help="also mirror tiles left-right at random")
    tr.add_argument("--samples", type=int, default=4,
                    help="sample tiles drawn as it trains, the last kept as NAME.preview.png (default 4; 0: none)")
    tr.add_argument("--sample-steps", type=int, default=20, help="steps of each sample (default 20)")
    knobs = tr.add_argument_group("the usual knobs (kohya's names in brackets)")
    knobs.add_argument("--lr-schedule", default="constant", choices=("constant", "cosine", "cosine_with_restarts"),
                       help="the learning rate after the warm-up (default constant) [lr_scheduler]")
    knobs.add_argument("--warmup-steps", type=int, default=-1, metavar="N",
                       help="the linear warm-up (default: a tenth of the run, up to 100) [lr_warmup_steps]")
    knobs.add_argument("--restarts", type=int, default=3, help="cosine_with_restarts' cycles (default 3)")
    knobs.add_argument("--optimizer", default="adamw", choices=("adamw", "adamw8bit"),
                       help="adamw8bit: bitsandbytes' 8-bit AdamW on a CUDA GPU (AdamW elsewhere, with a word)")
    knobs.add_argument("--noise-offset", type=float, default=0.0,
                       help="darker darks and brighter lights (0.05-0.1 for contrasty styles; default 0)")
    knobs.add_argument("--shuffle-captions", action="store_true",
                       help="the tags after the trigger in a new order every step [shuffle_caption]")
    knobs.add_argument("--caption-dropout", type=float, default=0.0, metavar="P",
                       help="the share of steps trained with no caption (default 0) [caption_dropout_rate]")
    knobs.add_argument("--conv-rank", type=int, default=0,
                       help="LoCon: train the UNet's resnet convolutions too, at this rank (default 0: not) [conv_dim]")
    knobs.add_argument("--conv-alpha", type=float, default=0.0, help="their alpha (default: the conv rank)")
    knobs.add_argument("--train-text-encoder", action="store_true",
                       help="a LoRA on the text encoder(s) too, so the trigger word learns the style "
                       "[network_train_unet_only off]")
    knobs.add_argument("--text-encoder-lr", type=float, default=0.0,
                       help="the text encoders' learning rate (default: half the UNet's) [text_encoder_lr]")
    knobs.add_argument("--gradient-checkpointing", action="store_true",
                       help="far less memory for about a third more time a step")
    knobs.add_argument("--accumulate", type=int, default=1, metavar="N",
                       help="add N batches' gradients before each step: the batch of N x --batch-size tiles "
                       "in the memory of one [gradient_accumulation_steps]")
    tr.add_argument("--score-samples", type=int, default=4, metavar="N",
                    help="after training, draw N tiles with the LoRA and N with the base model (same seeds and "
                    "prompts) for its style-consistency score (default 4; 0: no score)")
    tr.add_argument("--checkpoint-every", type=int, default=100, metavar="N",
                    help="save the whole run every N steps, to resume it after a stop or a crash (default 100; "
                    "0: never)")
    tr.add_argument("--keep-checkpoints", type=int, default=3, metavar="K", help="keep the last K (default 3)")
    tr.add_argument("--resume", action="store_true",
                    help="go on from the last checkpoint of this run (same tiles, model and settings)")
    tr.add_argument("--dry-run", action="store_true",
                    help="train nothing: list the set, each tile with its caption, and flag the near-duplicates "
                    "(the library's layout check) and the tiles whose QA failed")
    tr.add_argument("--out", help="the file to write (default: Tessera's loras folder)")
    tr.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    tr.add_argument("--precision", default="auto", choices=("auto", "float16", "bfloat16", "float32"))
    cmds.add_parser("list", parents=[common], help="the LoRAs in Tessera's loras folder, with what trained them "
                    "and each one's style consistency (how far it moved its samples towards its training tiles)")


def cmd_lora(args: argparse.Namespace, emit) -> int:
    if args.lora_command == "list":
        return _list(emit)
    return _train(args, emit)


def _ids(text: str | None) -> list[int] | None:
    if not text:
        return None
    try:
        return [int(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise UserError(f"--ids takes pattern ids separated by commas, not '{text}'") from None


def _train(args: argparse.Namespace, emit) -> int:
    from desktop.cli.common import library_root, run_as_job
    from desktop.engine.diffusion.training_request import TrainingRequest
    from desktop.library import Library
    from desktop.library.lora_jobs import train_lora
    from desktop.library.training_set import describe_set, review, review_lines, training_items

    status = None if args.status == "any" else args.status
    ids = _ids(args.ids)
    with Library(library_root(args)) as lib:
        items = training_items(lib, status=status, tag=args.tag, collection=args.collection, ids=ids,
                               min_rating=args.min_rating)
        reviewed = review(lib, items) if args.dry_run and items else []
    if not items:
        raise UserError(f"there are no tiles to train on: {describe_set(status, args.tag, args.collection, ids)} "
                        "are none (approve some: 'tessera library set ID --status approved')")
    request = TrainingRequest(
        model=args.model, name=args.name, items=items, trigger=args.trigger, rank=args.rank, alpha=args.alpha,
        steps=args.steps, learning_rate=args.lr, batch_size=args.batch_size, resolution=args.resolution,
        seed=args.seed, shift=not args.no_shift, flip=args.flip, out=args.out or "", samples=args.samples,
        sample_steps=args.sample_steps, checkpoint_every=args.checkpoint_every,
        lr_schedule=args.lr_schedule, warmup_steps=args.warmup_steps, restarts=args.restarts,
        optimizer=args.optimizer, noise_offset=args.noise_offset, caption_shuffle=args.shuffle_captions,
        caption_dropout=args.caption_dropout, conv_rank=args.conv_rank, conv_alpha=args.conv_alpha,
        gradient_checkpointing=args.gradient_checkpointing, accumulation=args.accumulate,
        train_text_encoder=args.train_text_encoder, text_encoder_lr=args.text_encoder_lr,
        score_samples=args.score_samples,
        keep_checkpoints=args.keep_checkpoints, resume=args.resume,
        device="" if args.device == "auto" else args.device,
        precision="" if args.precision == "auto" else args.precision)
    request.check()  # before the model loads
    if args.dry_run:
        emit({"tiles": reviewed, "flagged": sum(1 for item in reviewed if item["flags"]),
              "request": {k: v for k, v in asdict(request).items() if k not in ("items",)}},
             "\n".join(review_lines(reviewed)))
        return 0
    saved = "; the run is saved: add --resume to go on" if request.checkpoint_every else ""
    result = run_as_job("train-lora", request, args, fn=train_lora, cancelled=f"cancelled; no LoRA was written{saved}")
    for skipped in result["skipped"]:
        print(f"tessera: warning: skipped {skipped['file']}: {skipped['reason']}", file=sys.stderr)
    for warning in result["warnings"]:
        print(f"tessera: warning: {warning}", file=sys.stderr)
    trigger = f", trigger '{result['trigger_words'][0]}'" if result["trigger_words"] else ""
    count = f"{result['tiles']} tile" + ("" if result["tiles"] == 1 else "s")
    resumed = f", resumed at step {result['resumed_from']}" if result.get("resumed_from") else ""
    scored = f"\n{result['style_score']['sentence']}" if result.get("style_score") else ""
    emit(result, f"wrote {result['path']} ({count}, {result['steps']} steps{resumed}, final loss "
         f"{result['loss']:.4f}{trigger}, {result['seconds']:.0f} s on {result['device']})"
         + (f"\nsample: {result['preview']}" if result["preview"] else "") + scored)
    return 0


def describe_lora(path: Path) -> dict[str, Any]:
    """A LoRA file's facts from its header: family, trigger words, and what trained it (if Tessera did)."""
    from desktop.engine.diffusion.lora_file import preview_path
    from desktop.engine.diffusion.loras import glance, training_facts

    words, family = glance(path)
    training = training_facts(path)

    sample = preview_path(path)
    scored = (training or {}).get("style_score") or {}
    return {"name": path.stem, "path": str(path), "family": family, "trigger_words": words,
            "bytes": path.stat().st_size, "training": training, "preview": str(sample) if sample.is_file() else None,
            "style_score": scored.get("score")}


def _list(emit) -> int:
    from desktop.engine.diffusion.training_request import lora_folder

    folder = lora_folder()
    found = [describe_lora(p) for p in sorted(folder.glob("*.safetensors"))] if folder.is_dir() else []
    lines = []
    for lora in found:
        made = lora["training"]
        origin = (f"trained on {len(made['tiles'])} tiles of {made['base_model'].get('name', '?')}, "
                  f"{made['steps']} steps" if made else "not trained by Tessera")
        if lora["style_score"] is not None:
            origin += f", style consistency {lora['style_score']:.2f}"
        words = ", ".join(lora["trigger_words"]) or "none"
        lines.append(f"{lora['name']:24s} {lora['family'] or '?':5s} trigger: {words}; {origin}")
    emit({"folder": str(folder), "loras": found}, "\n".join(lines) or f"no LoRAs in {folder}")
    return 0


COMMANDS = {"lora": cmd_lora}
