// FileBytes' scattered small reads (one per initializer header when scanning an inline model) each
// hold a small window, not a 1 MiB one: under the model host's malloc settings freed windows stay
// in the process heap, so their size adds to the peak memory of opening a model.
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { FileBytes } from "../../../src/engine/onnx/wire";

describe("engine/FileBytes windows", () => {
  it("serves scattered small reads from windows of at most 64 KiB, with earlier views unchanged", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "introspect-filebytes-"));
    const file = path.join(dir, "data.bin");
    const data = Buffer.alloc(8 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 10)) & 255;
    fs.writeFileSync(file, data);
    const src = new FileBytes(file);
    try {
      const views: Array<{ at: number; v: Uint8Array }> = [];
      for (let at = 0; at + 100 < data.length; at += 700_001) {
        const v = src.read(at, 100);
        assert.ok(v.buffer.byteLength <= 1 << 16, `window of ${v.buffer.byteLength} bytes for a 100-byte read`);
        views.push({ at, v });
      }
      for (const { at, v } of views) assert.deepStrictEqual(Buffer.from(v), data.subarray(at, at + 100));
      const big = src.read(5, 3 << 20);
      assert.strictEqual(big.length, 3 << 20);
      assert.deepStrictEqual(Buffer.from(big.subarray(0, 64)), data.subarray(5, 69));
    } finally {
      src.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
