"""check_safetensors.py: our safetensors files load in the reference Python library with identical
values, shapes and dtypes, and files the library writes load in our reader identically.

Uses build/tests/tool_stio (tests/tool_stio.c): `write PATH` writes one tensor of every dtype with
bytes from a documented LCG (re-derived here), `dump PATH` prints what our reader sees.
Prints PASS/FAIL lines (tests/run.sh counts them)."""
import ctypes
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np
import safetensors
from safetensors.numpy import save_file

BUILD = os.environ.get("BUILD", "build")
TOOL = os.path.join(BUILD, "tests", "tool_stio")

# name in header -> (numpy dtype or None when numpy has none, element size, TensorSpec dtype name)
DTYPES = {
    "BOOL": (np.bool_, 1, "bool"), "U8": (np.uint8, 1, "uint8"), "I8": (np.int8, 1, "int8"),
    "U16": (np.uint16, 2, "uint16"), "I16": (np.int16, 2, "int16"), "U32": (np.uint32, 4, "uint32"),
    "I32": (np.int32, 4, "int32"), "U64": (np.uint64, 8, "uint64"), "I64": (np.int64, 8, "int64"),
    "F16": (np.float16, 2, "float16"), "BF16": (None, 2, "bfloat16"), "F32": (np.float32, 4, "float32"),
    "F64": (np.float64, 8, "float64"), "F8_E4M3": (None, 1, "float8_e4m3fn"), "F8_E5M2": (None, 1, "float8_e5m2"),
}
# What tool_stio writes, in data order (index k seeds the generator).
WRITTEN = [("BOOL", [3, 5]), ("U8", [7]), ("I8", [2, 2, 2]), ("U16", [4, 3]), ("I16", [5]), ("U32", [2, 3]),
           ("I32", [1, 4]), ("U64", [3]), ("I64", []), ("F16", [2, 5]), ("BF16", [3, 4]), ("F32", [4, 4]),
           ("F64", [2, 3]), ("F8_E4M3", [5, 7]), ("F8_E5M2", [16])]

failures = 0


def report(ok, name, detail=""):
    global failures
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else ": " + detail))
    failures += 0 if ok else 1


def gen(k, dtype, n):
    """The bytes tool_stio writes for tensor k (see gen() in tests/tool_stio.c)."""
    s = 1000 + k
    out = bytearray(n)
    for i in range(n):
        s = (s * 1664525 + 1013904223) & 0xFFFFFFFF
        out[i] = (s >> 24) & (1 if dtype == "BOOL" else 0xFF)
    return bytes(out)


def nbytes(dtype, shape):
    n = DTYPES[dtype][1]
    for d in shape:
        n *= d
    return n


def expected_ours():
    exp = {}
    for k, (dt, shape) in enumerate(WRITTEN):
        exp["t." + dt] = (dt, shape, gen(k, dt, nbytes(dt, shape)))
    exp["t.empty"] = ("F32", [0, 3], b"")
    return exp


def dump(path):
    r = subprocess.run([TOOL, "dump", path], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("tool_stio dump failed: " + r.stderr.strip())
    meta, tensors = {}, {}
    for line in r.stdout.splitlines():
        f = line.split("\t")
        if f[0] == "meta":
            meta[f[1]] = f[2]
        else:
            shape = [int(x) for x in f[3].split(",")] if f[3] else []
            tensors[f[1]] = (f[2], shape, f[4])
    return meta, tensors


def check_ours_load_in_library(tmp):
    path = os.path.join(tmp, "ours.safetensors")
    subprocess.run([TOOL, "write", path], check=True)
    exp = expected_ours()
    data = open(path, "rb").read()
    hlen = struct.unpack("<Q", data[:8])[0]
    report((8 + hlen) % 8 == 0, "ours_data_region_8_byte_aligned", "header length %d" % hlen)

    # deserialize returns raw bytes for every dtype, numpy or not.
    got = {name: (v["dtype"], list(v["shape"]), bytes(v["data"])) for name, v in safetensors.deserialize(data)}
    report(set(got) == set(exp), "ours_library_sees_every_tensor", "%s vs %s" % (sorted(got), sorted(exp)))
    for name, (dt, shape, raw) in exp.items():
        g = got.get(name)
        report(g is not None and g[0] == dt and g[1] == shape and g[2] == raw,
               "ours_library_bytes_dtype_shape_%s" % name,
               "got %s" % str(None if g is None else (g[0], g[1], g[2][:16].hex())))

    # Value-level load through the numpy framework for every dtype numpy has.
    with safetensors.safe_open(path, framework="numpy") as f:
        report(f.metadata() == {"format": "pt", "tool": "reap tool_stio"}, "ours_library_metadata", str(f.metadata()))
        for name, (dt, shape, raw) in exp.items():
            npdt = DTYPES[dt][0]
            if npdt is None:
                continue
            x = f.get_tensor(name)
            want = np.frombuffer(raw, dtype=npdt).reshape(shape)
            ok = x.dtype == want.dtype and list(x.shape) == shape and x.tobytes() == want.tobytes()
            if ok and dt not in ("F16", "F32", "F64"):
                ok = np.array_equal(x, want)  # integers / bool compare as values too
            report(ok, "ours_numpy_values_%s" % name, "dtype %s shape %s" % (x.dtype, x.shape))

    # Our own reader agrees with what we wrote.
    meta, tensors = dump(path)
    ok = all(tensors.get(n) == (dt, shape, hashlib.sha256(raw).hexdigest()) for n, (dt, shape, raw) in exp.items())
    report(ok and meta.get("format") == "pt", "ours_reader_reads_own_file")


def tensor_spec_serialize(specs, metadata):
    """Serialises {name: (dtype, shape, bytes)} with the library, whatever its API generation."""
    if hasattr(safetensors, "TensorSpec"):
        keep, d = [], {}
        for name, (dt, shape, raw) in specs.items():
            buf = np.frombuffer(raw, dtype=np.uint8).copy() if raw else np.zeros(1, dtype=np.uint8)
            keep.append(buf)
            d[name] = safetensors.TensorSpec(dtype=DTYPES[dt][2], shape=shape, data_ptr=buf.ctypes.data,
                                             data_len=len(raw))
        out = bytes(safetensors.serialize(d, metadata=metadata))
        del keep
        return out
    return bytes(safetensors.serialize({n: {"dtype": dt, "shape": shape, "data": raw}
                                        for n, (dt, shape, raw) in specs.items()}, metadata=metadata))


def check_library_files_load_in_ours(tmp):
    rng = np.random.default_rng(1234)
    # 1. numpy arrays through safetensors.numpy.save_file (the path most users take).
    arrays = {}
    for dt, (npdt, size, _) in DTYPES.items():
        if npdt is None:
            continue
        shape = (int(rng.integers(1, 5)), int(rng.integers(1, 6)))
        raw = rng.integers(0, 256, size=size * shape[0] * shape[1], dtype=np.uint8)
        if dt == "BOOL":
            raw &= 1
        arrays["np." + dt] = np.frombuffer(raw.tobytes(), dtype=npdt).reshape(shape)
    arrays["np.scalar"] = np.array(3.25, dtype=np.float32)
    path = os.path.join(tmp, "lib_numpy.safetensors")
    save_file(arrays, path, metadata={"who": "python"})
    meta, tensors = dump(path)
    report(meta == {"who": "python"}, "library_numpy_file_metadata_in_ours", str(meta))
    report(set(tensors) == set(arrays), "library_numpy_file_every_tensor_in_ours")
    for name, a in arrays.items():
        dt = [k for k, v in DTYPES.items() if v[0] is not None and np.dtype(v[0]) == a.dtype][0]
        want = (dt, list(a.shape), hashlib.sha256(a.tobytes()).hexdigest())
        report(tensors.get(name) == want, "library_numpy_file_in_ours_%s" % name, "%s vs %s" % (tensors.get(name), want))

    # 2. every dtype, including those numpy lacks, through the raw serialize API.
    specs = {}
    for dt in DTYPES:
        shape = [int(rng.integers(1, 4)), int(rng.integers(1, 7))]
        raw = bytes(rng.integers(0, 256, size=nbytes(dt, shape), dtype=np.uint8))
        if dt == "BOOL":
            raw = bytes(b & 1 for b in raw)
        specs["raw." + dt] = (dt, shape, raw)
    specs["raw.empty"] = ("BF16", [0, 4], b"")
    path = os.path.join(tmp, "lib_raw.safetensors")
    with open(path, "wb") as f:
        f.write(tensor_spec_serialize(specs, {"k": "v"}))
    meta, tensors = dump(path)
    report(meta == {"k": "v"}, "library_raw_file_metadata_in_ours", str(meta))
    for name, (dt, shape, raw) in specs.items():
        want = (dt, shape, hashlib.sha256(raw).hexdigest())
        report(tensors.get(name) == want, "library_raw_file_in_ours_%s" % name, "%s vs %s" % (tensors.get(name), want))


def main():
    if not os.access(TOOL, os.X_OK):
        report(False, "tool_stio_built", "%s missing (make test builds it)" % TOOL)
        return 1
    tmp = tempfile.mkdtemp(prefix="reap_check_st_")
    try:
        check_ours_load_in_library(tmp)
        check_library_files_load_in_ours(tmp)
    except Exception as e:  # a crash is one failure with its reason
        report(False, "check_safetensors_ran", repr(e))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
