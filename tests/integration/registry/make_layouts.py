#!/usr/bin/env python3
"""Writes the OCI image layouts the registry test pushes: OUT/amd64 and OUT/arm64
(one image each, a file /which naming the architecture, ref "img"), and OUT/multi,
an image index holding both with their platforms (ref "multi"). Prints the
manifest digests as "amd64 DIGEST" and "arm64 DIGEST"."""
import hashlib, io, json, os, sys, tarfile, gzip


def blob(layout, data):
    d = hashlib.sha256(data).hexdigest()
    os.makedirs(os.path.join(layout, "blobs", "sha256"), exist_ok=True)
    with open(os.path.join(layout, "blobs", "sha256", d), "wb") as f:
        f.write(data)
    return "sha256:" + d


def layer_bytes(files):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, content, mode in files:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), mode, 0
            t.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0)


def image(layout, arch):
    """Blobs of one image into `layout`; returns its manifest descriptor."""
    layer = layer_bytes([("which", arch.encode() + b"\n", 0o644)])
    diff_id = "sha256:" + hashlib.sha256(gzip.decompress(layer)).hexdigest()
    config = json.dumps({"architecture": arch, "os": "linux",
                         "config": {"Cmd": ["/bin/sh"], "Env": ["ARCH=" + arch]},
                         "rootfs": {"type": "layers", "diff_ids": [diff_id]}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": blob(layout, config), "size": len(config)},
                           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                       "digest": blob(layout, layer), "size": len(layer)}]}).encode()
    return {"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": blob(layout, manifest), "size": len(manifest)}


def write_index(layout, descriptor, ref):
    d = dict(descriptor)
    d["annotations"] = {"org.opencontainers.image.ref.name": ref}
    with open(os.path.join(layout, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    with open(os.path.join(layout, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [d]}, f)


out = sys.argv[1]
multi = os.path.join(out, "multi")
entries = []
for arch in ("amd64", "arm64"):
    single = os.path.join(out, arch)
    d = image(single, arch)
    write_index(single, d, "img")
    d2 = image(multi, arch)
    assert d2 == d  # the same bytes, so the same digests
    entries.append(dict(d, platform={"os": "linux", "architecture": arch}))
    print(arch, d["digest"])
index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": entries}).encode()
write_index(multi, {"mediaType": "application/vnd.oci.image.index.v1+json",
                    "digest": blob(multi, index), "size": len(index)}, "multi")
