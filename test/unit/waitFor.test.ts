// The tests' waiting helpers (test/waitFor.ts): they return as soon as the condition holds, and
// a timeout fails with what was awaited and the last value or error seen.
import * as assert from "assert";
import { eventually, waitFor } from "../waitFor";

describe("test helpers: waitFor / eventually", () => {
  it("waitFor returns the first value that is not undefined, null or false", async () => {
    let n = 0;
    const v = await waitFor("the third poll", () => (++n >= 3 ? { n } : n === 1 ? null : false), { intervalMs: 1 });
    assert.deepStrictEqual(v, { n: 3 });
  });

  it("waitFor fails with what it waited for and the last error", async () => {
    await assert.rejects(
      waitFor(
        "the door to open",
        () => {
          throw new Error("locked");
        },
        { timeoutMs: 30, intervalMs: 5 },
      ),
      /timed out after 0\.0 s waiting for the door to open; last error: locked/,
    );
  });

  it("eventually compares deeply or matches a RegExp, and fails as an assertion with the last value", async () => {
    let n = 0;
    assert.deepStrictEqual(await eventually("a list", () => [Math.min(++n, 2)], [2], { intervalMs: 1 }), [2]);
    assert.strictEqual(await eventually("a status", () => "3 steps · done", /done$/), "3 steps · done");
    await assert.rejects(
      eventually("the count", () => 4, 5, { timeoutMs: 20, intervalMs: 5 }),
      (e: unknown) => {
        assert.ok(e instanceof assert.AssertionError);
        assert.match(e.message, /^the count: still 4 after 0\.0 s, expected 5\b/);
        assert.strictEqual(e.actual, 4);
        return true;
      },
    );
  });
});
