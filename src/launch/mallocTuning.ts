// glibc malloc settings for a process that runs forward passes (the model host, the CLI, the bench).
//
// Why: onnxruntime-node 1.30 copies every fetched output into a new ArrayBuffer, so each forward pass
// hands the allocator tens to hundreds of MiB (logits [512, 50257] alone are 98 MiB; a capture of
// every resid_* and mlp.hook_post site of GPT-2 small adds 110 MiB). glibc gives freed heap memory back
// to the kernel (trimming) and serves blocks above its mmap threshold with fresh mappings, so those
// bytes are faulted in anew on every pass. Where page faults are slow (measured on a 2-vCPU VM:
// first touch of 98 MiB took 0.35-0.9 s, rewriting it 5 ms) that was 40% of a 512-token forward and
// made a full capture 1.3-1.4x a plain forward. With the kept heap (no trimming below 1 GiB, blocks
// below 32 MiB from the heap) the same process measured: onnxruntime plain forward 0.9 -> 0.55-0.7 s,
// capture / plain 1.42 -> 0.98 (BENCHMARKS.md, "Capture").
//
// Transparent huge pages for malloc'd memory (glibc.malloc.hugetlb=1) were part of these settings
// until measured alone: opening GPT-2 small (622 MiB inline) peaked at either 670 or 730 MiB from
// one start to the next with them (always 662-673 without), and forwards were no faster (GPT-2 small
// at 512 tokens 431-664 ms with, 445-487 without; a 1,024-token probe of the 1B q4 model 6.70-6.88 s
// with, 6.54-6.65 s without, peak 3.21 GB with, 2.95-3.06 GB without). So they are not set.
//
// glibc reads GLIBC_TUNABLES when a process starts, so these must be in the environment of the
// process being started (spawn/fork options), not set from inside it. Other C libraries ignore it.
// Cost: freed memory stays with the process (its resident size does not shrink after a large run).

export const MALLOC_TUNABLES = [
  "glibc.malloc.trim_threshold=1073741824", // keep up to 1 GiB of freed heap instead of returning it
  "glibc.malloc.mmap_threshold=33554432", // blocks below 32 MiB (the most glibc allows) from the heap
];

/** `env` with MALLOC_TUNABLES added to its GLIBC_TUNABLES (settings already there win). */
export function withMallocTuning(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const have = (env.GLIBC_TUNABLES ?? "").split(":").filter(Boolean);
  const names = new Set(have.map((t) => t.split("=")[0]));
  const add = MALLOC_TUNABLES.filter((t) => !names.has(t.split("=")[0]));
  return { ...env, GLIBC_TUNABLES: [...have, ...add].join(":") };
}

/** Whether this process was started with every MALLOC_TUNABLES setting (any value). */
export function mallocTuned(env: NodeJS.ProcessEnv = process.env): boolean {
  const names = new Set((env.GLIBC_TUNABLES ?? "").split(":").map((t) => t.split("=")[0]));
  return MALLOC_TUNABLES.every((t) => names.has(t.split("=")[0]));
}
