// Introspect's own views, found in the workbench the way the tests look for them.
import type { FrameLocator } from "playwright-core";
import type { Workbench } from "./workbench";

/** The steering view's content frame (side bar), once its vector list is drawn. */
export async function steeringView(wb: Workbench): Promise<FrameLocator> {
  const inner = await wb.webviewView("Introspect: Steering");
  await inner.locator("#vectors").waitFor({ timeout: 60000 });
  return inner;
}
