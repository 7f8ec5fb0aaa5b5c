/**
 * Which image tags name a version. Suggestions and `versionLabels.default: image-tag` take a
 * version label from the image tag only when it does: `latest`, `alpine` or `main` move with every
 * push and tell no two versions apart, and a digest fragment or a commit hash is unreadable as a
 * version label.
 */

/** Tags that name a channel, a branch or a base image, never one release (compared lower-case). */
const MOVING_TAGS = new Set([
  'latest',
  'alpine',
  'slim',
  'main',
  'master',
  'trunk',
  'head',
  'develop',
  'development',
  'dev',
  'stable',
  'edge',
  'nightly',
  'canary',
  'beta',
  'alpha',
  'rc',
  'next',
  'current',
  'lts',
  'release',
  'snapshot',
  'unstable',
  'testing',
  'test',
  'staging',
  'prod',
  'production',
  'default',
]);

// A version: digits first, optionally after `v` (`1.2.3`, `v2`, `8.16.0`, `1.27-alpine`,
// `2.0.0-rc.1`), or a channel-version pair as Linkerd tags its releases (`edge-26.8.3`,
// `stable-2.14.10`).
const VERSION = /^v?\d+(\.\d+)*([-+_.][0-9A-Za-z][0-9A-Za-z.+_-]*)?$/;
const CHANNEL_VERSION = /^[A-Za-z]+-v?\d+(\.\d+)+([-+_.][0-9A-Za-z][0-9A-Za-z.+_-]*)?$/;
// A commit hash or digest fragment: hex only, with at least one letter so that `20240101` stays.
const HEX = /^[0-9a-f]{7,64}$/i;
const DIGEST_FRAGMENT = /^(sha\d+|blake\d*)[-_:]?[0-9a-f]*$/i;

/** Does this image tag name one version? */
export function isVersionTag(tag: string): boolean {
  if (MOVING_TAGS.has(tag.toLowerCase())) return false;
  if (DIGEST_FRAGMENT.test(tag)) return false;
  if (HEX.test(tag) && /[a-f]/i.test(tag)) return false;
  return VERSION.test(tag) || CHANNEL_VERSION.test(tag);
}

/** The tag of an image reference as written (`nginx:1.27` gives `1.27`), ignoring a digest. */
export function imageTag(image: string): string | undefined {
  const trimmed = image.trim();
  const at = trimmed.indexOf('@');
  const name = at === -1 ? trimmed : trimmed.slice(0, at);
  // The tag is after the last ':' of the last path segment; an earlier ':' is a registry port.
  const lastSegment = name.slice(name.lastIndexOf('/') + 1);
  const colon = lastSegment.lastIndexOf(':');
  const tag = colon === -1 ? undefined : lastSegment.slice(colon + 1);
  return tag === '' ? undefined : tag;
}
