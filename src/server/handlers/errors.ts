// How a host request fails, shared by the handlers: the client shows the message as it is.
import { IntrospectError, type CancelToken } from "../../engine";

/** One token that is cancelled when any of `tokens` is (the request's and its progress bar's). */
export function anyCancelled(...tokens: CancelToken[]): CancelToken {
  return {
    get isCancellationRequested() {
      return tokens.some((t) => t.isCancellationRequested);
    },
  };
}

/**
 * The error a request answers with. A cancellation is "Cancelled."; IntrospectErrors are
 * sentences already; anything else (an onnxruntime failure) gets a sentence around it, naming
 * what failed (`what`, e.g. "The probe"), instead of a stack trace.
 */
export function userError(e: unknown, what: string, token?: CancelToken): Error {
  if (token?.isCancellationRequested || (e instanceof IntrospectError && e.code === "cancelled")) return new Error("Cancelled.");
  if (e instanceof IntrospectError) return new Error(e.message);
  const msg = e instanceof Error ? e.message : String(e);
  return new Error(`${what} failed inside the model runtime: ${msg.split("\n")[0]}. See the "Introspect Model Host" output for details.`);
}
