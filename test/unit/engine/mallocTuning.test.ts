// The malloc settings a forward-pass process should be started with (see mallocTuning.ts).
import * as assert from "assert";
import { spawnSync } from "child_process";
import { MALLOC_TUNABLES, mallocTuned, withMallocTuning } from "../../../src/launch/mallocTuning";

describe("engine: malloc tuning for forward-pass processes", () => {
  it("adds the settings to an environment, keeping the ones already there", () => {
    assert.strictEqual(withMallocTuning({}).GLIBC_TUNABLES, MALLOC_TUNABLES.join(":"));
    const env = withMallocTuning({ PATH: "/bin", GLIBC_TUNABLES: "glibc.malloc.trim_threshold=5:glibc.malloc.tcache_count=0" });
    assert.strictEqual(env.PATH, "/bin");
    const t = env.GLIBC_TUNABLES!.split(":");
    assert.ok(t.includes("glibc.malloc.trim_threshold=5") && !t.includes("glibc.malloc.trim_threshold=1073741824"), env.GLIBC_TUNABLES);
    assert.ok(t.includes("glibc.malloc.tcache_count=0") && t.includes("glibc.malloc.mmap_threshold=33554432"), env.GLIBC_TUNABLES);
    assert.strictEqual(t.length, 3);
  });

  it("tells whether a process was started with them", () => {
    assert.strictEqual(mallocTuned({}), false);
    assert.strictEqual(mallocTuned({ GLIBC_TUNABLES: "glibc.malloc.trim_threshold=1073741824" }), false);
    assert.strictEqual(mallocTuned(withMallocTuning({})), true);
    const child = spawnSync(process.execPath, ["-e", "process.stdout.write(process.env.GLIBC_TUNABLES ?? '')"], {
      env: withMallocTuning({}),
      encoding: "utf8",
    });
    assert.strictEqual(child.status, 0, child.stderr);
    assert.strictEqual(mallocTuned({ GLIBC_TUNABLES: child.stdout }), true);
  });
});
