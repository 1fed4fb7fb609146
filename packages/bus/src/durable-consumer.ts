/**
 * A durable pull consumer that takes messages only when the caller has capacity, so a trainer
 * with two free workers holds two jobs and no more (the rest stay in the queue for other
 * trainers). Each message is decoded by the codec and handed to the handler with a delivery
 * context; the outcome decides its fate:
 * - handler resolves: acked, and by default the ack confirmed by the server (`confirmAcks`);
 * - payload cannot be decoded, or the handler throws a non-retryable ValidationError/DecodeError:
 *   terminated at once and recorded in the dead-letter stream with the reason (both count as
 *   malformed, through `onMalformed`);
 * - any other throw: nak'd with a growing delay, until the last allowed delivery, where it is
 *   terminated and dead-lettered with the last error as the reason.
 * Terminations carry no reason text: nats-server 2.9 ignores a `+TERM` that has one (the message is
 * then redelivered), so the reason goes to the dead-letter record instead.
 * A consumer killed mid-handler never acks, so JetStream redelivers after the ack wait; past
 * max deliveries, the server's advisory lands in the dead-letter stream (see dead-letters.ts).
 */
import type { JsMsg } from 'nats';
import { ErrorCode, toDynlabError, type DynlabError, type Logger } from '@dynlab/core';
import { decode, typeName, v1, type MessageType } from '@dynlab/proto';
import type { Bus } from './bus';
import { PullFeed, pullExpiresMs } from './pull-feed';
import { subjects } from './subjects';

export interface DeliveryContext {
  subject: string;
  streamSeq: number;
  /** 1 on the first delivery. */
  deliveries: number;
  /** Tells the server the message is still being worked on (resets the ack wait). */
  working(): void;
  /** True on the last delivery the consumer allows. */
  lastAttempt: boolean;
  /** The message's bytes as received (valid while the handler runs; copy to keep them). */
  data: Uint8Array;
}

export interface DurableConsumerOptions<T> {
  stream: string;
  durable: string;
  type: MessageType<T>;
  handler: (msg: T, ctx: DeliveryContext) => Promise<void>;
  /** Handlers running at once. @default 1 (messages handled in order) */
  concurrency?: number;
  /** Messages fetched per pull. @default concurrency */
  batch?: number;
  /** Delay before a failed message is redelivered, by delivery count. @default 1 s doubling, at most 30 s */
  nakDelayMs?: (deliveries: number) => number;
  /** Area name used in the dead-letter subject. @default the stream name in lower case */
  deadLetterArea?: string;
  onMalformed?: (err: DynlabError, subject: string) => void;
  onDeadLetter?: (record: v1.IDeadLetter) => void;
  /** Called for each delivery with its count (for redelivery metrics). */
  onDelivery?: (deliveries: number) => void;
  /**
   * Wait for the server to confirm each ack (a request and its reply). Without it an ack is one
   * message, and one lost with a connection is seen only as a redelivery after the ack wait:
   * right for handlers whose work is idempotent and frequent (a job, a job's results), where the
   * confirmations were a quarter of the messages the trainer and the coordinator received.
   * @default true
   */
  confirmAcks?: boolean;
  logger: Logger;
}

export interface RunningConsumer {
  /** Messages being handled now. */
  readonly inFlight: number;
  /** Stops pulling and waits (up to `graceMs`) for handlers in flight; unfinished ones are nak'd. */
  stop(graceMs?: number): Promise<void>;
}

const nonRetryable = new Set<string>([
  ErrorCode.Validation,
  ErrorCode.Decode,
  ErrorCode.Shape,
  ErrorCode.TooLarge,
]);

/** Starts consuming; see the module header. */
export async function startDurableConsumer<T>(
  bus: Bus,
  o: DurableConsumerOptions<T>,
): Promise<RunningConsumer> {
  const concurrency = Math.max(1, o.concurrency ?? 1);
  const confirmAcks = o.confirmAcks ?? true;
  const batch = Math.max(1, o.batch ?? concurrency);
  const nakDelay = o.nakDelayMs ?? ((n: number) => Math.min(30_000, 1000 * 2 ** (n - 1)));
  const area = o.deadLetterArea ?? o.stream.toLowerCase();
  const info = await bus.jsm.consumers.info(o.stream, o.durable);
  const maxDeliver =
    info.config.max_deliver && info.config.max_deliver > 0 ? info.config.max_deliver : Infinity;
  const log = o.logger.child({ consumer: o.durable });

  let stopped = false;
  /** Messages whose handler is running: what `concurrency` bounds. */
  const running = new Map<JsMsg, Promise<void>>();
  /** Every message not yet settled (handled, then acked); `stop` waits for these. */
  const unsettled = new Set<Promise<void>>();
  /** Frees a message's slot (its handler is done), so the next pull overlaps its ack. */
  const release = (m: JsMsg) => {
    if (running.delete(m)) refill();
  };

  const deadLetter = async (m: JsMsg, reason: string, err?: DynlabError) => {
    const record: v1.IDeadLetter = {
      subject: m.subject,
      stream: o.stream,
      streamSeq: m.seq,
      deliveries: m.info.redeliveryCount,
      reason,
      error: err ? err.toInfo() : null,
      payload: m.data,
      timeMs: Date.now(),
      consumer: o.durable,
    };
    try {
      await bus.publish(subjects.deadLetter(area), v1.DeadLetter, record);
    } catch (e) {
      log.error('cannot record dead letter', { error: (e as Error).message, reason });
    }
    o.onDeadLetter?.(record);
  };

  const handle = async (m: JsMsg) => {
    const deliveries = m.info.redeliveryCount;
    o.onDelivery?.(deliveries);
    let msg: T;
    try {
      msg = decode(o.type, m.data);
    } catch (err) {
      const e = toDynlabError(err);
      o.onMalformed?.(e, m.subject);
      m.term();
      await deadLetter(m, e.message, e);
      return;
    }
    const ctx: DeliveryContext = {
      subject: m.subject,
      streamSeq: m.seq,
      deliveries,
      working: () => m.working(),
      lastAttempt: deliveries >= maxDeliver,
      data: m.data,
    };
    try {
      await o.handler(msg, ctx);
    } catch (err) {
      const e = toDynlabError(err);
      if (stopped && e.code === ErrorCode.Cancelled) {
        m.nak();
        return;
      }
      // A message that decodes but fails the handler's checks (a message of the wrong type, a
      // required id missing) is malformed input too: counted like one that does not decode.
      if (e.code === ErrorCode.Validation || e.code === ErrorCode.Decode)
        o.onMalformed?.(e, m.subject);
      if (nonRetryable.has(e.code) || deliveries >= maxDeliver) {
        const reason =
          deliveries >= maxDeliver
            ? `failed on delivery ${deliveries} of ${maxDeliver}: ${e.message}`
            : `not retryable (${e.code}): ${e.message}`;
        log.warn('message dead-lettered', { subject: m.subject, reason });
        m.term();
        await deadLetter(m, reason, e);
      } else {
        log.warn('handler failed, will retry', {
          subject: m.subject,
          deliveries,
          error: e.message,
        });
        m.nak(nakDelay(deliveries));
      }
      return;
    }
    release(m);
    if (!confirmAcks) {
      m.ack();
      return;
    }
    try {
      await m.ackAck();
    } catch (err) {
      log.warn('ack not confirmed (the message may be redelivered; handlers are idempotent)', {
        error: (err as Error).message,
      });
    }
  };

  const start = (m: JsMsg) => {
    const p = handle(m)
      .catch((err) => log.error('unexpected consumer failure', { error: (err as Error).message }))
      .finally(() => {
        release(m);
        unsettled.delete(p);
      });
    running.set(m, p);
    unsettled.add(p);
  };

  // Pulls only for free slots: a handler that ends, or a request that ended short, makes room.
  const feed = new PullFeed(
    bus,
    o.stream,
    o.durable,
    (m) => {
      if (stopped) m.nak();
      else start(m);
    },
    () => refill(),
    log,
  );
  // A pull for every freed slot would keep one waiting request per message on the server (a
  // coordinator taking results piled up hundreds, past the server's limit of waiting requests):
  // pull once a quarter of the slots is free.
  const minPull = Math.max(1, Math.floor(concurrency / 4));
  const refill = () => {
    if (stopped) return;
    const room = Math.min(batch, concurrency - running.size - feed.pending);
    if (room >= Math.min(minPull, batch)) feed.pull(room);
  };
  refill();
  log.debug('consuming', { stream: o.stream, type: typeName(o.type), concurrency, batch });

  return {
    get inFlight() {
      return running.size;
    },
    async stop(graceMs = 30_000) {
      // Pulls still open are left to expire (at most pullExpiresMs) rather than cancelled, so the
      // server never hands a message to an inbox nobody reads; whatever comes meanwhile is nak'd.
      stopped = true;
      const all = Promise.all(unsettled);
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
      if ((await Promise.race([all, timer])) === 'timeout') {
        for (const m of running.keys()) m.nak();
        log.warn("stopped with handlers still running; their messages were nak'd", {
          count: running.size,
        });
      }
      if (feed.pending > 0) await new Promise((r) => setTimeout(r, pullExpiresMs + 200).unref());
      feed.close();
    },
  };
}
