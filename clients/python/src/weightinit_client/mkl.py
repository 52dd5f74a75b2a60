"""Which code path Intel MKL takes in this process's torch (docs/spec.md "MKL").

torch computes `erfinv_` and `orthogonal_` with MKL, and MKL picks its code path by CPU: SSE4.2 on AMD CPUs (and on
any CPU with `MKL_ENABLE_INSTRUCTIONS=SSE4_2`), AVX2 or AVX-512 on Intel ones. `trace` sends the path it finds here:
the service computes erfinv_ as that path does, and refuses orthogonal_ off the SSE4.2 path instead of serving values
this torch would not produce.
"""
import functools

import torch

# float32 inputs where MKL's vmsErfInv differs between its code paths (by 1 ulp), as bit patterns: (input, SSE4.2
# path's result, AVX2 path's, AVX-512 path's). Found by comparing the three on 20M uniform inputs on an Intel CPU.
_PROBES = [
    (0xBE9FCD50, 0xBE91709A, 0xBE917099, 0xBE91709A),
    (0xBF12D768, 0xBF0FFA04, 0xBF0FFA03, 0xBF0FFA03),
    (0xBEC7896C, 0xBEB88594, 0xBEB88595, 0xBEB88595),
    (0xBE819EE0, 0xBE69BE5C, 0xBE69BE5C, 0xBE69BE5D),
    (0x3E19BFA0, 0x3E091205, 0x3E091205, 0x3E091204),
    (0xBEF2BA40, 0xBEE59EC6, 0xBEE59EC6, 0xBEE59EC5),
]


def _floats(bits):
    signed = [b - (1 << 32) if b >= 1 << 31 else b for b in bits]
    return torch.tensor(signed, dtype=torch.int32).view(torch.float32)


@functools.lru_cache(maxsize=None)
def mkl_path() -> str:
    """"sse4_2", "avx2", "avx512" (MKL's code paths, by what `torch.erfinv` returns on the probes) or "other"."""
    got = torch.erfinv(_floats([p[0] for p in _PROBES])).view(torch.int32)
    for name, column in (("sse4_2", 1), ("avx2", 2), ("avx512", 3)):
        if torch.equal(got, _floats([p[column] for p in _PROBES]).view(torch.int32)):
            return name
    return "other"
