/** The formats of `review -o`: text for people, the others for tools (CONTRACT §6). */
export const REVIEW_FORMATS = ['text', 'json', 'junit', 'sarif'] as const;
export type ReviewFormat = (typeof REVIEW_FORMATS)[number];
