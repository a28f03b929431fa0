// The list of host handler modules. Add a file next to this one exporting
// `register(ctx: HostContext)` and list it here; the bundler needs static imports.
import type { HostContext } from "../context";
import * as experts from "./experts";
import * as expertRank from "./expertRank";
import * as model from "./model";
import * as compare from "./compareModels";
import * as features from "./features";
import * as headPatch from "./headPatch";
import * as models from "./models";
import * as patch from "./patch";
import * as probe from "./probe";
import * as promptFile from "./promptFile";
import * as shift from "./shift";
import * as steer from "./steer";

export const handlerModules: { register(ctx: HostContext): void }[] = [
  model,
  models,
  probe,
  steer,
  patch,
  promptFile,
  shift,
  features,
  experts,
  expertRank,
  headPatch,
  compare,
];
