/**
 * The one codec. Every message crossing NATS goes through `encode`/`decode` here, so a payload
 * that fails to decode becomes a typed `DecodeError` in one place instead of a crash wherever a
 * message is read.
 */
import { DecodeError, ValidationError } from '@dynlab/core';

/** What protobufjs static classes provide; the codec needs nothing else. */
export interface MessageType<T> {
  // T is inferred from `decode` alone (the decoded class), not from the looser input interface.
  encode(message: NoInfer<T>): { finish(): Uint8Array };
  decode(reader: Uint8Array): T;
  verify(message: { [k: string]: unknown }): string | null;
  fromObject(object: { [k: string]: unknown }): T;
  toObject(message: NoInfer<T>, options?: object): { [k: string]: unknown };
  getTypeUrl(prefix?: string): string;
}

/** The message type's full name, e.g. `dynlab.v1.Job`. */
export function typeName(type: MessageType<unknown>): string {
  return type.getTypeUrl('').replace(/^\//, '');
}

/** Encodes a message (or a plain object of its shape, checked first). */
export function encode<T>(type: MessageType<T>, message: T | { [k: string]: unknown }): Uint8Array {
  const problem = type.verify(message as { [k: string]: unknown });
  if (problem)
    throw new ValidationError([{ path: typeName(type), message: problem }], { what: 'message' });
  return type.encode(message as T).finish();
}

/** Decodes bytes; anything malformed becomes a DecodeError naming the type. */
export function decode<T>(type: MessageType<T>, bytes: Uint8Array): T {
  try {
    // protobufjs reads a Node Buffer (what the NATS client delivers) with a lenient reader that
    // silently shortens a string running past the end of the message; a plain Uint8Array view
    // gets its strict reader, so a truncated message is an error here, whatever holds the bytes.
    const view = Buffer.isBuffer(bytes)
      ? new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      : bytes;
    return type.decode(view);
  } catch (err) {
    throw new DecodeError(`cannot decode ${typeName(type)}: ${(err as Error).message}`, {
      cause: err,
      details: { type: typeName(type), bytes: String(bytes.length) },
    });
  }
}

/** Plain JSON-friendly object of a message: enums as names, longs as numbers, defaults filled. */
export function toPlain<T>(type: MessageType<T>, message: T): { [k: string]: unknown } {
  return type.toObject(message, {
    enums: String,
    longs: Number,
    defaults: true,
    arrays: true,
    objects: true,
    oneofs: true,
  });
}
