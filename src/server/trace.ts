// INTROSPECT_TRACE=1: every request the host serves is logged (to the "Introspect Model Host"
// output) when it starts and when it ends, with its duration and outcome, to see what a slow
// panel waits on.
import type { Connection } from "vscode-languageserver/node";

type AnyHandler = (...args: unknown[]) => unknown;

export function traceRequests(connection: Connection, log: (line: string) => void): void {
  const register = connection.onRequest.bind(connection) as (type: unknown, handler: AnyHandler) => unknown;
  let next = 1;
  (connection as unknown as { onRequest: typeof register }).onRequest = (type, handler) => {
    const method = typeof type === "string" ? type : String((type as { method?: string }).method);
    return register(type, async (...args: unknown[]) => {
      const id = next++;
      const t0 = performance.now();
      log(`[trace] #${id} ${method} started`);
      let outcome = "ok";
      try {
        return await handler(...args);
      } catch (e) {
        outcome = `failed: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`;
        throw e;
      } finally {
        log(`[trace] #${id} ${method} ${(performance.now() - t0).toFixed(0)} ms ${outcome}`);
      }
    });
  };
}
