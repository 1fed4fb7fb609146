/**
 * A JetStream KV bucket holding protobuf values, with compare-and-set: `update` succeeds only
 * at the revision the caller read, so two coordinators (or a restarted one) never overwrite each
 * other's counts; `create` succeeds only for a new key, which makes "record once" idempotent.
 * `modify` remembers the value and revision it last wrote to a key and tries its next
 * compare-and-set against them without reading first: a writer that is alone on a key (one
 * coordinator recording a sweep) pays one request per change instead of two, and one that is not
 * gets a conflict, reads, and tries again, as before.
 */
import type { KV } from 'nats';
import { DynlabError, ErrorCode } from '@dynlab/core';
import { decode, encode, type MessageType } from '@dynlab/proto';
import type { Bus } from './bus';

export class ConflictError extends DynlabError {
  constructor(message: string, details?: Record<string, string>) {
    super(ErrorCode.Conflict, message, { retryable: true, details });
  }
}

export interface Versioned<T> {
  value: T;
  revision: number;
}

/** Keys whose last written value `modify` remembers, at most (the oldest are forgotten first). */
const rememberedKeys = 256;

export class TypedKv<T> {
  /** What `modify` last wrote to each key (see the class comment). */
  private readonly written = new Map<string, Versioned<Uint8Array>>();

  private constructor(
    private readonly kv: KV,
    private readonly type: MessageType<T>,
    readonly bucket: string,
  ) {}

  static async open<T>(bus: Bus, bucket: string, type: MessageType<T>): Promise<TypedKv<T>> {
    return new TypedKv(await bus.js.views.kv(bucket, { history: 1 }), type, bucket);
  }

  async get(key: string): Promise<Versioned<T> | null> {
    const e = await this.kv.get(key);
    if (!e || e.operation !== 'PUT') return null;
    return { value: decode(this.type, e.value), revision: e.revision };
  }

  /** Creates `key`; a ConflictError when it exists already. */
  async create(key: string, value: T | Record<string, unknown> | Uint8Array): Promise<number> {
    try {
      return await this.kv.create(key, this.bytes(value));
    } catch (err) {
      if (isWrongSequence(err)) throw new ConflictError(`${this.bucket}/${key} exists`, { key });
      throw err;
    }
  }

  /** Writes `key` only if it is still at `revision`; a ConflictError otherwise. */
  async update(
    key: string,
    value: T | Record<string, unknown> | Uint8Array,
    revision: number,
  ): Promise<number> {
    try {
      return await this.kv.update(key, this.bytes(value), revision);
    } catch (err) {
      if (isWrongSequence(err))
        throw new ConflictError(`${this.bucket}/${key} changed since revision ${revision}`, {
          key,
          revision: String(revision),
        });
      throw err;
    }
  }

  async put(key: string, value: T | Record<string, unknown>): Promise<number> {
    this.written.delete(key);
    return this.kv.put(key, encode(this.type, value));
  }

  /** A value as bytes (already encoded ones as they are). */
  private bytes(value: T | Record<string, unknown> | Uint8Array): Uint8Array {
    return value instanceof Uint8Array ? value : encode(this.type, value);
  }

  /**
   * Read-modify-write with compare-and-set, retried on conflict. `fn` gets the current value (or
   * null) and returns the new one, or undefined to leave it as it is. The first attempt starts from
   * the value this object last wrote to the key, when it remembers one (see the class comment).
   */
  async modify(
    key: string,
    fn: (current: T | null) => T | Record<string, unknown> | undefined,
    attempts = 50,
  ): Promise<T | null> {
    for (let i = 0; i < attempts; i++) {
      const mine = i === 0 ? this.written.get(key) : undefined;
      const cur = mine
        ? { value: decode(this.type, mine.value), revision: mine.revision }
        : await this.get(key);
      const next = fn(cur?.value ?? null);
      if (next === undefined) {
        if (!mine) return cur?.value ?? null;
        this.written.delete(key); // nothing to write: confirm the value with a real read
        continue;
      }
      const bytes = encode(this.type, next);
      try {
        const revision = cur
          ? await this.update(key, bytes, cur.revision)
          : await this.create(key, bytes);
        this.remember(key, { value: bytes, revision });
        return decode(this.type, bytes);
      } catch (err) {
        this.written.delete(key);
        if (!(err instanceof ConflictError)) throw err;
      }
    }
    throw new ConflictError(
      `${this.bucket}/${key}: gave up after ${attempts} conflicting updates`,
      { key },
    );
  }

  private remember(key: string, v: Versioned<Uint8Array>): void {
    this.written.delete(key);
    this.written.set(key, v);
    if (this.written.size > rememberedKeys) this.written.delete(this.written.keys().next().value!);
  }

  /**
   * The key's value now and after each change, until `signal` aborts (or the connection closes);
   * a deleted key yields null.
   */
  async *watch(key: string, signal?: AbortSignal): AsyncGenerator<T | null> {
    const it = await this.kv.watch({ key });
    const stop = () => it.stop();
    signal?.addEventListener('abort', stop, { once: true });
    if (signal?.aborted) stop(); // aborted while the watch was being set up
    try {
      for await (const e of it) yield e.operation === 'PUT' ? decode(this.type, e.value) : null;
    } finally {
      signal?.removeEventListener('abort', stop);
      it.stop();
    }
  }

  /** Keys matching a filter (`*` and `>` wildcards). */
  async keys(filter = '>'): Promise<string[]> {
    const out: string[] = [];
    for await (const k of await this.kv.keys(filter)) out.push(k);
    return out;
  }

  async delete(key: string): Promise<void> {
    this.written.delete(key);
    await this.kv.delete(key);
  }
}

function isWrongSequence(err: unknown): boolean {
  const e = err as { api_error?: { err_code?: number }; message?: string };
  return (
    e?.api_error?.err_code === 10071 || /wrong last sequence|key exists/i.test(String(e?.message))
  );
}
