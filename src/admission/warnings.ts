/** The API documentation asks webhooks to keep each warning within 120 characters. */
export const MAX_WARNING_LENGTH = 120;

/** Shortens text to the warning limit on a word boundary, marking the cut with an ellipsis. */
export function toWarning(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  if (oneLine.length <= MAX_WARNING_LENGTH) return oneLine;
  const cut = oneLine.slice(0, MAX_WARNING_LENGTH - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > 80 ? cut.slice(0, space) : cut).trimEnd()}…`;
}
