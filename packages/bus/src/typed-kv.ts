/**
 * A JetStream KV bucket holding protobuf values, with compare-and-set: `update` succeeds only
 * at the revision the caller read, so two coordinators (or a restarted one) never overwrite each
 * other's counts; `create` succeeds only for a new key, which makes "record once" idempotent.
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

export class TypedKv<T> {
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
  async create(key: string, value: T | Record<string, unknown>): Promise<number> {
    try {
      return await this.kv.create(key, encode(this.type, value));
    } catch (err) {
      if (isWrongSequence(err)) throw new ConflictError(`${this.bucket}/${key} exists`, { key });
      throw err;
    }
  }

  /** Writes `key` only if it is still at `revision`; a ConflictError otherwise. */
  async update(key: string, value: T | Record<string, unknown>, revision: number): Promise<number> {
    try {
      return await this.kv.update(key, encode(this.type, value), revision);
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
    return this.kv.put(key, encode(this.type, value));
  }

  /**
   * Read-modify-write with compare-and-set, retried on conflict. `fn` gets the current value (or
   * null) and returns the new one, or undefined to leave it as it is.
   */
  async modify(
    key: string,
    fn: (current: T | null) => T | Record<string, unknown> | undefined,
    attempts = 50,
  ): Promise<T | null> {
    for (let i = 0; i < attempts; i++) {
      const cur = await this.get(key);
      const next = fn(cur?.value ?? null);
      if (next === undefined) return cur?.value ?? null;
      try {
        if (cur) await this.update(key, next, cur.revision);
        else await this.create(key, next);
        return decode(this.type, encode(this.type, next));
      } catch (err) {
        if (!(err instanceof ConflictError)) throw err;
      }
    }
    throw new ConflictError(
      `${this.bucket}/${key}: gave up after ${attempts} conflicting updates`,
      { key },
    );
  }

  /** Keys matching a filter (`*` and `>` wildcards). */
  async keys(filter = '>'): Promise<string[]> {
    const out: string[] = [];
    for await (const k of await this.kv.keys(filter)) out.push(k);
    return out;
  }

  async delete(key: string): Promise<void> {
    await this.kv.delete(key);
  }
}

function isWrongSequence(err: unknown): boolean {
  const e = err as { api_error?: { err_code?: number }; message?: string };
  return (
    e?.api_error?.err_code === 10071 || /wrong last sequence|key exists/i.test(String(e?.message))
  );
}
