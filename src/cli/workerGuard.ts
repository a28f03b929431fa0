// The first thing the CLI runs (main.ts imports it before anything else), so that a relaunched
// worker is tied to its launcher before it spends time loading the engine.
//
// The CLI starts itself again as a worker under the glibc malloc settings (main.ts, launchWorker),
// with an IPC channel and INTROSPECT_CLI_LAUNCHER=<launcher pid>. A worker
//   - exits (143) as soon as its launcher is gone: the IPC channel closes ("disconnect"), and, in case
//     that was missed, its parent pid changes (polled); a launcher that died before this code ran is
//     noticed here at once. So `kill -9` of the CLI never leaves a worker running or writing --out;
//   - takes Ctrl-C from the launcher only, as IPC messages (one per SIGINT the launcher gets): the
//     SIGINT a terminal sends to the whole process group reaches both, and must count once.
//     Messages that arrive before the command has set its handler are kept until it does.

export const WORKER_ENV = "INTROSPECT_CLI_LAUNCHER";
/** Exit code of a worker whose launcher went away (as for SIGTERM). */
const ORPHANED_EXIT = 143;
const PARENT_POLL_MS = 250;

let onInterrupt: (() => void) | undefined;
let pendingInterrupts = 0;

/** Whether this process is a worker started by the CLI's launcher. */
export function isWorker(): boolean {
  return process.env[WORKER_ENV] !== undefined;
}

/** Where the launcher's Ctrl-C goes; interrupts that came before are delivered now. */
export function onLauncherInterrupt(handler: () => void): void {
  onInterrupt = handler;
  for (; pendingInterrupts > 0; pendingInterrupts--) handler();
}

if (isWorker()) {
  const launcher = Number(process.env[WORKER_ENV]);
  const orphaned = () => process.exit(ORPHANED_EXIT);
  if (process.ppid !== launcher || typeof process.send !== "function" || !process.connected) orphaned();
  process.on("disconnect", orphaned);
  setInterval(() => {
    if (process.ppid !== launcher) orphaned();
  }, PARENT_POLL_MS).unref();
  process.on("SIGINT", () => undefined);
  process.on("message", (m: unknown) => {
    if ((m as { signal?: string } | null)?.signal !== "SIGINT") return;
    if (onInterrupt) onInterrupt();
    else pendingInterrupts++;
  });
}
