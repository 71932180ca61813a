"""C2PA Content Credentials (c2pa-python): a signed manifest in exported files and listing images, and reading one back.

The manifest says what was done (created, recoloured, seam-repaired, upscaled, colourways, with the
IPTC digital source type: desktop/library/disclosure.py), from what (parent patterns and the images a
style read, by hash, as ingredients), and with which model and LoRAs (by hash, in Tessera's own
assertion). It is signed with the studio's key: a studio's own certificate chain and key
(TESSERA_C2PA_CERT, TESSERA_C2PA_KEY: PEM files), or one made on first use: a studio root certificate
and a signing certificate issued by it (ES256), the root and chain in the config folder, the private
key in the OS keyring (or, with none, a file readable by this user only), as the marketplace token is.

Nothing here reaches a network: no timestamp server, no OCSP. A studio's own root is not a trusted
authority to anyone else, so a reader reports the signer as untrusted unless it is given that root
(`tessera verify FILE --trust ROOT`); the manifest's integrity is checked either way.
"""

from __future__ import annotations

import datetime
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop import __version__
from desktop.errors import UserError

KEY_SERVICE = "Tessera content credentials"  # the signing key's place in the OS keyring
MIME = {"png": "image/png", "tiff": "image/tiff", "tif": "image/tiff", "jpeg": "image/jpeg", "jpg": "image/jpeg"}


class CredentialsError(UserError):
    """Content credentials could not be made or read: one sentence."""


class UnsignableAsset(CredentialsError):
    """The file itself cannot carry a manifest (damaged, or a kind C2PA does not write)."""


@dataclass
class Identity:
    chain_pem: bytes  # the signing certificate, then its issuer
    key_pem: bytes
    root_pem: bytes  # what a reader must trust for the signer to be trusted ("" for a studio's own chain)
    made_here: bool


def _c2pa():
    try:
        import c2pa
    except ImportError:
        raise CredentialsError("content credentials need c2pa-python, which is not installed "
                               "(pip install c2pa-python)") from None
    return c2pa


def _folder() -> Path:
    from desktop.config import resolve_paths

    return resolve_paths().config_dir / "credentials"


def identity() -> Identity:
    """The studio's signing identity: its own (TESSERA_C2PA_CERT and TESSERA_C2PA_KEY), or the one made here
    on first use."""
    cert, key = os.environ.get("TESSERA_C2PA_CERT"), os.environ.get("TESSERA_C2PA_KEY")
    if cert or key:
        if not (cert and key):
            raise CredentialsError("a studio's own signing identity needs both TESSERA_C2PA_CERT and TESSERA_C2PA_KEY")
        try:
            return Identity(Path(cert).read_bytes(), Path(key).read_bytes(), b"", False)
        except OSError as exc:
            raise CredentialsError(f"the signing certificate or key cannot be read ({exc.strerror or exc})") from None
    folder = _folder()
    chain, root = folder / "signer-chain.pem", folder / "studio-root.pem"
    if chain.is_file() and root.is_file():
        key_pem = _load_key(folder)
        if key_pem:
            return Identity(chain.read_bytes(), key_pem, root.read_bytes(), True)
    return _make_identity(folder)


def _load_key(folder: Path) -> bytes:
    from desktop.library.marketplace import _keyring_get

    kept = _keyring_get("signing-key", service=KEY_SERVICE)
    if kept:
        return kept.encode()
    path = folder / "signer-key.pem"
    return path.read_bytes() if path.is_file() else b""


def _make_identity(folder: Path) -> Identity:
    """A studio root certificate (ten years) and a signing certificate from it (two years), ES256."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    from desktop.config import atomic_write_bytes
    from desktop.library.marketplace import _keyring_set

    now = datetime.datetime.now(datetime.UTC)
    studio = os.environ.get("TESSERA_STUDIO_NAME") or "Tessera studio"

    def name(common: str):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, studio)])

    def usage(sign: bool, certs: bool):
        return x509.KeyUsage(digital_signature=sign, content_commitment=False, key_encipherment=False,
                             data_encipherment=False, key_agreement=False, key_cert_sign=certs, crl_sign=certs,
                             encipher_only=False, decipher_only=False)

    root_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = (x509.CertificateBuilder().subject_name(name(f"{studio} root")).issuer_name(name(f"{studio} root"))
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(usage(False, True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    signer = (x509.CertificateBuilder().subject_name(name(f"{studio} content credentials")).issuer_name(root.subject)
              .public_key(key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=730))
              .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
              .add_extension(usage(True, False), critical=True)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
              .sign(root_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    chain_pem = signer.public_bytes(pem) + root.public_bytes(pem)
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not _keyring_set("signing-key", key_pem.decode(), service=KEY_SERVICE):
            old = os.umask(0o077)  # no keyring here: a file this user alone can read
            try:
                atomic_write_bytes(folder / "signer-key.pem", key_pem)
            finally:
                os.umask(old)
            os.chmod(folder / "signer-key.pem", 0o600)
        atomic_write_bytes(folder / "signer-chain.pem", chain_pem)
        atomic_write_bytes(folder / "studio-root.pem", root.public_bytes(pem))
    except OSError as exc:
        raise CredentialsError(f"the studio's signing identity cannot be kept in {folder} "
                               f"({exc.strerror or exc})") from None
    return Identity(chain_pem, key_pem, root.public_bytes(pem), True)


def manifest_for(lib, item: dict[str, Any]) -> dict[str, Any]:
    """The manifest of a library pattern (Library.get's view): its actions, its digital source type,
    and the model and LoRAs that made it."""
    from desktop.library import disclosure

    made = disclosure.for_pattern(lib, item)
    prov = item.get("provenance") or {}
    first = {"action": "c2pa.created", "digitalSourceType": made["uri"],
             "softwareAgent": {"name": "Tessera", "version": __version__}}
    actions = [first]
    done = []  # what was done to the image it was made from (its parent, an ingredient)
    if prov.get("mode") in ("upscale", "variation") or prov.get("engine") == "resize":
        done.append(("c2pa.resized" if prov.get("mode") == "upscale" or prov.get("engine") == "resize" else
                     "c2pa.edited", prov.get("mode") or "resize"))
    if prov.get("repaired"):
        done.append(("c2pa.repaired" if prov["repaired"] == "seam" else "c2pa.color_adjustments",
                     f"{prov['repaired']} repaired"))
    if prov.get("recoloured") or prov.get("spot_colours"):
        done.append(("c2pa.color_adjustments", "recoloured"))
    if prov.get("colourway"):
        done.append(("c2pa.color_adjustments", "colourway"))
    actions += [{"action": action, "parameters": {"description": what}} for action, what in done]
    made_with = {k: prov.get(k) for k in ("engine", "model", "model_hash", "style", "seed") if prov.get(k) not in
                 (None, "")}
    loras = [{"name": lo.get("name") or lo.get("path"), "sha256": lo.get("sha256", ""), "weight": lo.get("weight")}
             for lo in (prov.get("loras") or []) if isinstance(lo, dict)]
    if loras:
        made_with["loras"] = loras
    return {"claim_generator_info": [{"name": "Tessera", "version": __version__}],
            "title": item.get("title") or f"pattern {item['id']}",
            "assertions": [{"label": "c2pa.actions", "data": {"actions": actions}},
                           {"label": "studio.tessera.made-with", "data": made_with}]}


def ingredients_for(lib, item: dict[str, Any]) -> list[tuple[dict[str, Any], str, bytes]]:
    """The patterns it was made from (parents) and the images a style read, each as (ingredient JSON,
    format, bytes); a file no longer there is left out."""
    prov = item.get("provenance") or {}
    found = []
    for parent_id in prov.get("parents") or []:
        try:
            parent = lib.get(int(parent_id))
            data = Path(parent["file"]).read_bytes()
        except (Exception, OSError):  # deleted for good, or unreadable: the manifest goes without it
            continue
        fmt = Path(parent["file"]).suffix.lstrip(".").lower()
        found.append(({"title": parent.get("title") or f"pattern {parent_id}", "relationship": "parentOf"},
                      MIME.get(fmt, "image/png"), data))
    for value in (prov.get("inputs") or {}).values():
        path = value.get("path") if isinstance(value, dict) else value
        try:
            data = Path(path).read_bytes()
        except (OSError, TypeError):
            continue
        fmt = Path(path).suffix.lstrip(".").lower()
        if fmt in MIME:
            found.append(({"title": Path(path).name, "relationship": "componentOf"}, MIME[fmt], data))
    return found


def sign(data: bytes, fmt: str, manifest: dict[str, Any],
         ingredients: list[tuple[dict[str, Any], str, bytes]] = ()) -> bytes:
    """`data` (a PNG, TIFF or JPEG file's bytes) with the manifest signed into it."""
    c2pa = _c2pa()
    mime = MIME.get(fmt.lower())
    if mime is None:
        raise UnsignableAsset(f"content credentials are not written into .{fmt} files")
    who = identity()
    try:
        signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(alg=b"es256", sign_cert=who.chain_pem,
                                                           private_key=who.key_pem, ta_url=None))
    except c2pa.C2paError as exc:
        raise CredentialsError(f"the studio's signing certificate or key is not usable ({exc})") from None
    try:
        builder = c2pa.Builder(manifest)
        for ingredient, kind, blob in ingredients:
            try:
                builder.add_ingredient(ingredient, kind, io.BytesIO(blob))
            except c2pa.C2paError:  # an ingredient that does not parse: the manifest goes without it
                continue
        out = io.BytesIO()
        builder.sign(signer, mime, io.BytesIO(data), out)
    except c2pa.C2paError as exc:
        raise UnsignableAsset(f"the file cannot carry content credentials ({exc})") from None
    finally:
        signer.close()
    return out.getvalue()


def read(data: bytes, fmt: str, trust: bytes | None = None) -> dict[str, Any] | None:
    """What a file's manifest says and whether it validates: None when it has none. `trust`: a root
    certificate (PEM) whose signers count as trusted."""
    c2pa = _c2pa()
    mime = MIME.get(fmt.lower())
    if mime is None:
        return None
    context = None
    if trust:
        context = c2pa.Context.from_dict({"verify": {"verify_trust": True}, "trust": {"trust_anchors": trust.decode()}})
    try:
        reader = c2pa.Reader(mime, io.BytesIO(data), context=context) if context else c2pa.Reader(mime, io.BytesIO(data))
    except c2pa.C2paError as exc:
        text = str(exc)
        if "ManifestNotFound" in type(exc).__name__ or "no JUMBF data" in text:  # none there at all
            return None
        raise CredentialsError(f"its content credentials cannot be read ({text})") from None
    with reader:
        manifest = reader.get_active_manifest() or {}
        results = reader.get_validation_results() or {}
        state = reader.get_validation_state() or ""
    failures = [f["code"] for f in (results.get("activeManifest") or {}).get("failure", [])]
    actions = []
    for assertion in manifest.get("assertions", []):
        if str(assertion.get("label", "")).startswith("c2pa.actions"):
            actions += assertion.get("data", {}).get("actions", [])
    made_with = next((a.get("data") for a in manifest.get("assertions", []) if a.get("label") == "studio.tessera.made-with"),
                     {})
    signature = manifest.get("signature_info") or {}
    return {"state": state, "valid": state in ("Valid", "Trusted"), "trusted": state == "Trusted",
            "failures": failures, "title": manifest.get("title", ""),
            "generator": [g.get("name", "") + (" " + g["version"] if g.get("version") else "")
                          for g in manifest.get("claim_generator_info", [])],
            "actions": [a.get("action") for a in actions],
            "digital_source_type": next((a["digitalSourceType"] for a in actions if a.get("digitalSourceType")), ""),
            "ingredients": [{"title": i.get("title", ""), "relationship": i.get("relationship", "")}
                            for i in manifest.get("ingredients", [])],
            "made_with": made_with, "signer": signature.get("issuer") or signature.get("common_name") or "",
            "signed": signature.get("time", "")}


def summary(found: dict[str, Any] | None) -> str:
    """One line for the Inspector."""
    if found is None:
        return "no content credentials"
    who = f" by {found['signer']}" if found["signer"] else ""
    if not found["valid"]:
        return f"content credentials{who} that do not validate ({', '.join(found['failures']) or found['state']})"
    trust = "trusted" if found["trusted"] else "valid, signer not from a trusted authority"
    return f"content credentials{who}: {trust}; " + ", ".join(found["actions"] or ["no actions"])


def as_text(found: dict[str, Any]) -> str:
    lines = [f"Title: {found['title']}", f"Made with: {', '.join(found['generator'])}",
             f"Signed by: {found['signer'] or 'unknown'}" + (f" at {found['signed']}" if found["signed"] else ""),
             f"Validation: {found['state']}" + (f" (failures: {', '.join(found['failures'])})" if found["failures"]
                                                else ""),
             f"Digital source type: {found['digital_source_type'] or 'not said'}",
             f"Actions: {', '.join(found['actions']) or 'none'}"]
    lines += [f"Ingredient: {i['title']} ({i['relationship']})" for i in found["ingredients"]]
    if found["made_with"]:
        lines.append("Tessera: " + json.dumps(found["made_with"], sort_keys=True))
    return "\n".join(lines)
