/**
 * Environment defaults for the BLAS, which the loader sets (natively, see csrc/env.cc) before the
 * addon, and with it the BLAS, is loaded; a variable the user has set is never changed.
 *
 * Why: OpenBLAS built with DYNAMIC_ARCH picks its kernels once, when it is loaded, from the CPU's
 * model or from OPENBLAS_CORETYPE. Two cases call for another choice than its own.
 *
 * 1. A CPU it does not know. Debian's OpenBLAS 0.3.21 does not recognise an Intel Xeon of family 6
 *    model 207 (Emerald Rapids) and falls back to its `Prescott` core (SSE3): SGEMM ran at about
 *    30 GFLOP/s per core there, against 57 with its Sandybridge (AVX) kernels, 81 with Haswell
 *    (AVX2 + FMA) and 105-150 with SkylakeX (AVX-512), single thread, alternated in one session;
 *    the benchmark's workload ran about 5x slower than with SkylakeX. So where the core OpenBLAS
 *    picked uses a narrower instruction set than the CPU's flags in /proc/cpuinfo support (the
 *    kernel clears a flag the OS does not enable), OPENBLAS_CORETYPE defaults to the best core those
 *    flags support: SkylakeX with AVX-512 (F, CD, BW, DQ, VL), Haswell with AVX2 and FMA, Sandybridge
 *    with AVX; for one BLAS thread and for two alike. Not Cooperlake: in 0.3.21 its SGEMM kernels,
 *    copy routines and blocking are SkylakeX's, instruction for instruction (compared by
 *    disassembly; it adds BF16 kernels only), and it needs one more CPU feature.
 * 2. An AMD CPU with AVX-512 (Zen 4, which executes a 512-bit FMA as two 256-bit halves). OpenBLAS
 *    0.3.21 picks its Intel AVX-512 kernels there (Cooperlake); their SGEMM ran the two products of
 *    the canonical workload (D=100, N=1000, H=100, chunks of 3) at 100 GFLOP/s per core, its
 *    Haswell (AVX2) kernels at 106 (best of hundreds of calls, single thread, alternated; SkylakeX
 *    was as Cooperlake, its Zen kernels 95). So where the core in effect (OpenBLAS's own, or the one
 *    case 1 chose) is an AVX-512 core, the CPU is AMD, and the BLAS is pinned to one thread when it
 *    is loaded (DYNLAB_BLAS_THREADS unset or 1, as in every worker of a pool), it is Haswell
 *    instead. With two BLAS threads on a lone network (P=1) the Haswell kernels were slower there
 *    (2,300-2,400 against 2,600-2,770 network-steps/s), so two threads keep the AVX-512 core.
 *    (Measured on a Zen 4 machine in an earlier session; not re-measured since.)
 *
 * Nothing here applies to another BLAS (MKL, BLIS), to an OpenBLAS without DYNAMIC_ARCH, to a core
 * this table does not know (another architecture, a newer OpenBLAS's new core), or where the user
 * set OPENBLAS_CORETYPE (even empty). The variable is set for the whole process, so programs it
 * starts afterwards inherit it (the benchmark runs PyTorch both with the environment it started
 * with and with this default, and keeps the faster).
 */

/** Instruction-set tiers of OpenBLAS's x86-64 DYNAMIC_ARCH cores (0: SSE-class, up to 3: AVX-512). */
const coreTier: Readonly<Record<string, number>> = {
  katmai: 0,
  coppermine: 0,
  northwood: 0,
  prescott: 0,
  banias: 0,
  atom: 0,
  core2: 0,
  penryn: 0,
  dunnington: 0,
  nehalem: 0,
  athlon: 0,
  opteron: 0,
  opteron_sse3: 0,
  barcelona: 0,
  nano: 0,
  bobcat: 0,
  sandybridge: 1,
  bulldozer: 1,
  piledriver: 1,
  steamroller: 1,
  haswell: 2,
  excavator: 2,
  zen: 2,
  skylakex: 3,
  cooperlake: 3,
  sapphirerapids: 3,
};

/** The best core per tier, and the CPU flags (as /proc/cpuinfo names them) each tier needs. */
const tiers: readonly { tier: number; core: string; flags: readonly string[] }[] = [
  { tier: 3, core: 'SkylakeX', flags: ['avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl'] },
  { tier: 2, core: 'Haswell', flags: ['avx2', 'fma'] },
  { tier: 1, core: 'Sandybridge', flags: ['avx'] },
];

/** The core named in the BLAS description, e.g. "Prescott" from "... (core Prescott)". */
export function pickedCore(blas: string | undefined): string | undefined {
  return blas ? /\(core (\w+)\)/.exec(blas)?.[1] : undefined;
}

/**
 * The variables the loader should set before loading the addon, given the BLAS description the
 * install recorded (the addon's `blasConfig()` without OPENBLAS_CORETYPE, e.g. "OpenBLAS 0.3.21 ...
 * DYNAMIC_ARCH ... (core Prescott)"), the text of /proc/cpuinfo, and the environment (the user's
 * OPENBLAS_CORETYPE, and DYNLAB_BLAS_THREADS, read as the loader reads it).
 */
export function blasEnvDefaults(
  blas: string | undefined,
  cpuinfo: string,
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  if (env.OPENBLAS_CORETYPE !== undefined) return {};
  if (!blas || !/^OpenBLAS\b/.test(blas) || !/\bDYNAMIC_ARCH\b/.test(blas)) return {};
  const picked = pickedCore(blas);
  const pickedTier = picked === undefined ? undefined : coreTier[picked.toLowerCase()];
  if (picked === undefined || pickedTier === undefined) return {};
  const vendor = /^vendor_id\s*:\s*(\S+)/m.exec(cpuinfo)?.[1];
  const flags = new Set(/^flags\s*:(.*)$/m.exec(cpuinfo)?.[1]?.split(/\s+/) ?? []);
  const best = tiers.find((t) => t.flags.every((f) => flags.has(f)));
  // Case 1: the CPU supports a wider instruction set than the core OpenBLAS picked.
  const core = best && best.tier > pickedTier ? best.core : picked;
  const tier = coreTier[core.toLowerCase()]!;
  // Case 2: AVX-512 kernels on an AMD CPU, one BLAS thread.
  const threads = Number(env.DYNLAB_BLAS_THREADS ?? 1);
  const oneThread = !(Number.isInteger(threads) && threads > 1);
  const amd = vendor === 'AuthenticAMD' && flags.has('avx512f');
  const chosen = tier === 3 && amd && oneThread ? 'Haswell' : core;
  return chosen === picked ? {} : { OPENBLAS_CORETYPE: chosen };
}
