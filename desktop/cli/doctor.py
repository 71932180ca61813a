"""`tessera doctor`: what a user's problem usually is, each with its fix in one line (desktop/doctor.py)."""

from __future__ import annotations

import argparse

DESCRIPTION = ("Check this machine for what usually stops Tessera: Python and packages, Qt and its system "
               "libraries, the NVIDIA driver and the PyTorch build, GPU memory, disk space, the library's health, "
               "CLIP and TAESD weights, registered models whose files moved, the marketplace login. Nothing is "
               "changed and nothing is fetched. Exit 0 when nothing failed (warnings and notes included), "
               "1 when a check failed, 2 bad usage, 3 an internal error.")


def add_parsers(sub, common: argparse.ArgumentParser) -> None:
    sub.add_parser("doctor", parents=[common], help="check this machine; each problem with its fix",
                   description=DESCRIPTION)


def cmd_doctor(args: argparse.Namespace, emit) -> int:
    from desktop.doctor import as_text, diagnose, report

    findings = diagnose()
    payload = report(findings)
    emit(payload, as_text(findings))
    return 0 if payload["ok"] else 1


COMMANDS = {"doctor": cmd_doctor}
