/**
 * Environment defaults for the BLAS, which the loader sets (natively, see csrc/env.cc) before the
 * addon, and with it the BLAS, is loaded; a variable the user has set is never changed.
 *
 * Why: OpenBLAS built with DYNAMIC_ARCH picks its kernels once, when it is loaded, from the CPU or
 * from OPENBLAS_CORETYPE. On an AMD CPU with AVX-512 (Zen 4, which executes a 512-bit FMA as two
 * 256-bit halves), Debian's OpenBLAS 0.3.21 picks its Intel AVX-512 kernels (Cooperlake); their
 * SGEMM ran the two products of the canonical workload (D=100, N=1000, H=100, chunks of 3) at
 * 100 GFLOP/s per core, its Haswell (AVX2) kernels at 106 (best of hundreds of calls, single
 * thread, alternated; SkylakeX was as Cooperlake, its Zen kernels 95). So where the addon was built
 * against OpenBLAS, OpenBLAS chose one of its Intel AVX-512 cores there, the CPU is AMD with
 * AVX-512, and the BLAS is pinned to one thread when it is loaded (DYNLAB_BLAS_THREADS unset or 1,
 * as in every worker of a pool), OPENBLAS_CORETYPE defaults to Haswell. With two BLAS threads on a
 * lone network (P=1) the Haswell kernels were slower instead (2,300-2,400 against 2,600-2,770
 * network-steps/s, OpenBLAS's split of the small products suits its AVX-512 kernels better), so a
 * process started with DYNLAB_BLAS_THREADS above 1 keeps OpenBLAS's own choice. Nothing here applies
 * to another BLAS (MKL, BLIS), to Intel CPUs, or to an OpenBLAS that picks another core by itself.
 * The variable is set for the whole process, so programs it starts afterwards inherit it (the
 * benchmark hands PyTorch the environment it started with instead).
 */

/** Cores of OpenBLAS's DYNAMIC_ARCH builds that use Intel's AVX-512 kernels. */
const avx512Cores = /\(core (SkylakeX|Cooperlake|SapphireRapids)\)/i;

/**
 * The variables the loader should set before loading the addon, given the BLAS description the
 * install recorded (the addon's `blasConfig()` without OPENBLAS_CORETYPE, e.g. "OpenBLAS 0.3.21 ...
 * DYNAMIC_ARCH ... (core Cooperlake)"), the text of /proc/cpuinfo, and the environment (the
 * user's OPENBLAS_CORETYPE, and DYNLAB_BLAS_THREADS, read as the loader reads it).
 */
export function blasEnvDefaults(
  blas: string | undefined,
  cpuinfo: string,
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  if (env.OPENBLAS_CORETYPE !== undefined) return {};
  const threads = Number(env.DYNLAB_BLAS_THREADS ?? 1);
  if (Number.isInteger(threads) && threads > 1) return {};
  if (!blas || !/^OpenBLAS\b/.test(blas) || !/\bDYNAMIC_ARCH\b/.test(blas)) return {};
  if (!avx512Cores.test(blas)) return {};
  const vendor = /^vendor_id\s*:\s*(\S+)/m.exec(cpuinfo)?.[1];
  const flags = /^flags\s*:(.*)$/m.exec(cpuinfo)?.[1]?.split(/\s+/) ?? [];
  if (vendor !== 'AuthenticAMD' || !flags.includes('avx512f')) return {};
  return { OPENBLAS_CORETYPE: 'Haswell' };
}
