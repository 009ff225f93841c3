import { InvalidObjectKeyError } from './storage-errors.js';

const SEGMENT_PATTERN = /^[A-Za-z0-9._-]+$/;
const MAX_KEY_LENGTH = 1024;

/**
 * The one key grammar both drivers accept: `/`-separated segments of `[A-Za-z0-9._-]`, no `.`
 * or `..` segment, no empty segment (so no leading, trailing or doubled `/`). That rules out
 * absolute paths, backslashes, NUL and traversal before a key gets near a filesystem.
 */
export function assertValidObjectKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) {
    throw new InvalidObjectKeyError('object key must be a non-empty string');
  }
  if (key.length > MAX_KEY_LENGTH) {
    throw new InvalidObjectKeyError(`object key is longer than ${MAX_KEY_LENGTH} characters`);
  }
  for (const segment of key.split('/')) assertValidKeySegment(segment, key);
}

export function assertValidKeySegment(segment: string, key: string = segment): void {
  if (!SEGMENT_PATTERN.test(segment) || segment === '.' || segment === '..') {
    throw new InvalidObjectKeyError(
      `invalid object key '${printable(key)}': segments must match [A-Za-z0-9._-]+ and not be '.' or '..'`,
    );
  }
}

export function isValidKeySegment(segment: string): boolean {
  return SEGMENT_PATTERN.test(segment) && segment !== '.' && segment !== '..';
}

/**
 * Prefixes name folders: 'a/b' and 'a/b/' both mean everything under 'a/b/', on every
 * driver (an S3 prefix 'a/b' would also match 'a/bc', a folder tree would not).
 * Returns the prefix with its trailing slash, or '' for the whole store when allowed.
 */
export function normalizePrefix(prefix: string, options: { allowEmpty: boolean }): string {
  if (prefix === '' || prefix === '/') {
    if (options.allowEmpty && prefix === '') return '';
    throw new InvalidObjectKeyError('prefix must name a folder, not the whole store');
  }
  const folder = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  assertValidObjectKey(folder);
  return `${folder}/`;
}

function printable(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f]/g, '?');
}
