import { ApiError, apiErrorOf } from './problem';
import { errorOf, SessionStore } from './session';

export const sessionStore = new SessionStore(
  typeof sessionStorage === 'undefined' ? null : sessionStorage,
);

export interface RequestOptions {
  method?: string;
  /** A JSON body (sent with content-type application/json). */
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * Calls the gateway as the signed-in user: credentials added (tokens refreshed when due), one
 * retry after a silent refresh on 401, the session ended when the credential is refused, and
 * every error answer thrown as an ApiError with the problem's title and detail.
 */
export async function api<T = unknown>(path: string, options: RequestOptions = {}): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    const headers: Record<string, string> = {
      accept: 'application/json, application/problem+json',
      ...(await sessionStore.authHeaders()),
      ...options.headers,
    };
    let body = options.body;
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    const response = await fetch(path, {
      method: options.method ?? 'GET',
      headers,
      body,
      signal: options.signal,
    });
    if (response.ok) {
      if (response.status === 204) return undefined as T;
      const text = await response.text();
      return (text ? JSON.parse(text) : undefined) as T;
    }
    const error = await errorOf(response);
    if (response.status === 401 && attempt === 0 && (await sessionStore.unauthorized(error))) {
      continue;
    }
    throw error;
  }
}

export interface UploadOptions {
  body: Blob;
  contentType: string;
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

/**
 * Uploads a file with XMLHttpRequest, the one browser API that reports upload progress, with
 * the same credentials and error handling as api().
 */
export async function upload<T = unknown>(path: string, options: UploadOptions): Promise<T> {
  const headers = await sessionStore.authHeaders();
  return new Promise<T>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.setRequestHeader('content-type', options.contentType);
    xhr.setRequestHeader('accept', 'application/json, application/problem+json');
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable && event.total > 0) {
        options.onProgress?.(event.loaded / event.total);
      }
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        options.onProgress?.(1);
        resolve((xhr.responseText ? JSON.parse(xhr.responseText) : undefined) as T);
        return;
      }
      const error = apiErrorOf({
        status: xhr.status,
        contentType: xhr.getResponseHeader('content-type'),
        body: xhr.responseText,
        requestId: xhr.getResponseHeader('x-request-id'),
        retryAfter: xhr.getResponseHeader('retry-after'),
      });
      if (xhr.status === 401) void sessionStore.unauthorized(error);
      reject(error);
    };
    xhr.onerror = () => reject(new TypeError('network error'));
    xhr.onabort = () => reject(new DOMException('upload cancelled', 'AbortError'));
    options.signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(options.body);
  });
}

export { ApiError };
