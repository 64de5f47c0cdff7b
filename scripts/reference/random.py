"""Reference draws of pmg's seeded generator (src/core/random.ts), from an independent Python implementation.

xoshiro128** state seeded by splitmix32-style mixing of the seed; uniform = top 24 bits / 2^24; Gaussians by
Box-Muller with u1 = 1 - uniform, both outputs used (cos first, then sin).
Run: python3 scripts/reference/random.py > src/core/reference/random.json
"""
import json
import math

M = 0xFFFFFFFF


def rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & M


class Xoshiro:
    def __init__(self, seed):
        x = (seed & M) ^ (((seed // 0x100000000) & M) * 0x9E3779B9 & M)
        state = []
        for _ in range(4):
            x = (x + 0x9E3779B9) & M
            z = x
            z = ((z ^ (z >> 16)) * 0x85EBCA6B) & M
            z = ((z ^ (z >> 13)) * 0xC2B2AE35) & M
            state.append((z ^ (z >> 16)) & M)
        if not any(state):
            state[0] = 1
        self.s = state
        self.spare = None

    def next_uint32(self):
        s0, s1, s2, s3 = self.s
        result = (rotl((s1 * 5) & M, 7) * 9) & M
        t = (s1 << 9) & M
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 11)
        self.s = [s0, s1, s2, s3]
        return result

    def next_float(self):
        return (self.next_uint32() >> 8) / 16777216

    def next_gaussian(self):
        if self.spare is not None:
            v, self.spare = self.spare, None
            return v
        u1 = 1 - self.next_float()
        u2 = self.next_float()
        r = math.sqrt(-2 * math.log(u1))
        a = 2 * math.pi * u2
        self.spare = r * math.sin(a)
        return r * math.cos(a)


out = {"source": "scripts/reference/random.py (independent Python implementation)", "cases": []}
for seed in [0, 1, 42, 2**32 + 7]:
    a = Xoshiro(seed)
    uints = [a.next_uint32() for _ in range(6)]
    b = Xoshiro(seed)
    gauss = [b.next_gaussian() for _ in range(6)]
    out["cases"].append({"seed": seed, "uint32": uints, "gaussian": gauss})
print(json.dumps(out, indent=1))
