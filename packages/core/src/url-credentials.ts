/**
 * Credentials written in a server URL (`nats://user:pass@host`), taken apart from the URL without
 * them. Why here: the bus must read them (the NATS client ignores them), and every log line and
 * message that shows a URL must not show them; one parser for both keeps them in step.
 */

/**
 * `url` split into the user info before the last `@` (undefined where there is none) and the URL
 * without it. The URL is cut as text, not re-serialised, so nothing else in it changes.
 */
export function splitCredentials(url: string): { url: string; userInfo?: string } {
  const t = url.trim();
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(t)?.[0] ?? '';
  const rest = t.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  return at < 0 ? { url: t } : { url: scheme + rest.slice(at + 1), userInfo: rest.slice(0, at) };
}

/** `urls` (one or a comma-separated list) without their credentials: for logs and messages. */
export function withoutCredentials(urls: string): string {
  return urls
    .split(',')
    .map((u) => splitCredentials(u).url)
    .join(',');
}
