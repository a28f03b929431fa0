// Prompt files (`*.introspect`): parser, document model and model-ready specs. Pure
// TypeScript, used by the model host's language features and by the extension's commands.
export * from "./model";
export { parsePromptFile } from "./parser";
export { textOffsetToPosition, textSpanToRange, positionToTextOffset, rangeContains } from "./text";
export * from "./specs";
export * from "./vocabulary";
export { answerTokens, showToken, type AnswerTokens } from "./answers";
export { parseExpertsValue, EXPERT_ACTIONS, type ExpertLine } from "./experts";
