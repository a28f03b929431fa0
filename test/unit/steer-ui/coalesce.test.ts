// Live restarts of the steering panel: latest value wins, nothing queues, cancel is not awaited.
import * as assert from "assert";
import { LatestWins } from "../../../src/extension/steer/coalesce";
import { defaultPrompt } from "../../../src/extension/steer/prompt";
import { promptBlocks } from "../../../src/server/language/promptQueries";
import { waitFor } from "../../waitFor";

/** A manual scheduler: starts happen only when the test says so. */
function manual() {
  const jobs: (() => void)[] = [];
  return {
    schedule: (f: () => void) => void jobs.push(f),
    runAll: () => jobs.splice(0).forEach((f) => f()),
    get size() {
      return jobs.length;
    },
  };
}

describe("steer-ui/LatestWins", () => {
  it("a burst of changes starts once, with the latest value", () => {
    const clock = manual();
    const started: number[] = [];
    const lw = new LatestWins<number>(async (v) => void started.push(v), { schedule: clock.schedule });
    for (let v = 1; v <= 50; v++) lw.change(v);
    assert.strictEqual(clock.size, 1, "one start scheduled, not fifty");
    clock.runAll();
    assert.deepStrictEqual(started, [50]);
  });

  it("a change cancels the running generation at once and does not wait for it to end", async () => {
    const clock = manual();
    const tokens: { isCancellationRequested: boolean }[] = [];
    const never = new Promise<void>(() => undefined); // a generation that never ends by itself
    const lw = new LatestWins<number>(
      (_v, token) => {
        tokens.push(token);
        return never;
      },
      { schedule: clock.schedule },
    );
    lw.change(1);
    clock.runAll();
    assert.strictEqual(lw.isRunning, true);
    lw.change(2);
    assert.strictEqual(tokens[0].isCancellationRequested, true, "cancelled synchronously by the change");
    clock.runAll();
    assert.strictEqual(tokens.length, 2, "the second started although the first never finished");
    assert.strictEqual(tokens[1].isCancellationRequested, false);
    assert.strictEqual(lw.starts, 2);
  });

  it("changes during a run coalesce: only the last of them starts", () => {
    const clock = manual();
    const started: number[] = [];
    const lw = new LatestWins<number>(async (v) => void started.push(v), { schedule: clock.schedule });
    lw.change(1);
    clock.runAll();
    lw.change(2);
    lw.change(3);
    lw.change(4);
    clock.runAll();
    assert.deepStrictEqual(started, [1, 4]);
  });

  it("stop cancels and drops a pending start; a failing start does not break later ones", async () => {
    const clock = manual();
    const started: number[] = [];
    const lw = new LatestWins<number>(
      async (v) => {
        started.push(v);
        if (v === 1) throw new Error("boom");
      },
      { schedule: clock.schedule },
    );
    lw.change(1);
    clock.runAll();
    await new Promise((r) => setImmediate(r));
    lw.change(2);
    lw.stop();
    clock.runAll();
    lw.change(3);
    clock.runAll();
    assert.deepStrictEqual(started, [1, 3]);
  });

  it("with the default scheduler, synchronous changes coalesce into one start", async () => {
    const started: number[] = [];
    const lw = new LatestWins<number>(async (v) => void started.push(v));
    lw.change(1);
    lw.change(2);
    lw.change(3);
    assert.deepStrictEqual(started, [], "nothing starts synchronously");
    // The first start is the one that tells: with the three changes coalesced it gets 3.
    await waitFor("the first start", () => started.length > 0);
    assert.deepStrictEqual(started, [3]);
  });
});

describe("steer-ui/defaultPrompt", () => {
  const file = "model demo-llama\n\nprompt neutral\n  The food was\n\nprompt other\n  I hated it. It was\n\ncontrast c\n  + a\n  - b\n";
  it("takes the selection first", () => {
    assert.deepStrictEqual(
      defaultPrompt({ text: file, languageId: "introspect", fileName: "/w/s.introspect", selected: "xyz", cursorLine: 0 }),
      {
        prompt: "xyz",
        source: "selection",
      },
    );
  });
  it("takes the prompt block under the cursor, else the first prompt block", () => {
    // The host reads the blocks (PromptBlocksRequest); the extension words the source.
    const at = (line: number) =>
      defaultPrompt(
        { text: file, languageId: "introspect", fileName: "/w/s.introspect", selected: "", cursorLine: line },
        promptBlocks({ source: file, position: { line, character: 0 } }),
      );
    assert.strictEqual(at(6)?.prompt, "I hated it. It was");
    assert.strictEqual(at(6)?.source, "s.introspect: other");
    assert.strictEqual(at(9)?.prompt, "The food was");
  });
  it("gives nothing for other files without a selection", () => {
    assert.strictEqual(
      defaultPrompt({ text: "hello", languageId: "plaintext", fileName: "a.txt", selected: " ", cursorLine: 0 }),
      undefined,
    );
  });
});
