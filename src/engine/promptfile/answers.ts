// How an answer such as " Mary" tokenises after its prompt. Answers are read as the model's
// next token, so they are tokenised in context: encode(prompt + answer) and keep the tokens
// that cover the answer's characters. Encoding " Mary" alone can differ (SentencePiece adds a
// leading "▁", so it becomes two tokens), which would misreport single-token answers.
import type { Token } from "../types";

export interface AnswerTokens {
  /** Tokens covering the answer's characters. */
  tokens: Token[];
  /** The first answer token also covers the end of the prompt (the two merged). */
  mergedWithPrompt: boolean;
}

export function answerTokens(encode: (text: string) => Token[], prompt: string, answer: string): AnswerTokens {
  const start = prompt.length;
  const end = start + answer.length;
  const tokens = encode(prompt + answer).filter((t) => t.span.end > t.span.start && t.span.end > start && t.span.start < end);
  return { tokens, mergedWithPrompt: tokens.length > 0 && tokens[0].span.start < start };
}

/** A token as a user reads it: quoted, so leading spaces and newlines show. */
export function showToken(t: Pick<Token, "text">): string {
  return JSON.stringify(t.text);
}
