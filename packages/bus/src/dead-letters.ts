/**
 * Reading the dead-letter stream. It holds two kinds of record: our own `DeadLetter` messages
 * (a payload that could not be decoded, or a job that failed on its last delivery, with the
 * reason) and JetStream's max-deliveries advisories (a job delivered the maximum number of times
 * without any ack, as when every trainer that took it was killed). Both are handed to the
 * caller as one `DeadLetter`; for an advisory, the original payload is fetched from the work queue
 * and then removed from it, so it cannot block the queue.
 */
import { DecodeError, ErrorCode, type DynlabError, type Logger } from '@dynlab/core';
import { decode, v1, type MessageType } from '@dynlab/proto';
import type { Bus } from './bus';
import { startDurableConsumer, type RunningConsumer } from './durable-consumer';
import { ensureConsumer, logConsumerConfig } from './topology';
import { streams } from './subjects';

/** Passes the raw bytes through, so one consumer can read both record kinds. */
const RawBytes: MessageType<Uint8Array> = {
  encode: (m) => ({ finish: () => m }),
  decode: (b) => b,
  verify: () => null,
  fromObject: (o) => o as unknown as Uint8Array,
  toObject: () => ({}),
  getTypeUrl: () => 'raw.Bytes',
};

interface MaxDeliveriesAdvisory {
  type?: string;
  stream?: string;
  consumer?: string;
  stream_seq?: number;
  deliveries?: number;
}

/** Consumes the dead-letter stream with a durable consumer; `handler` sees every record once (at least once across crashes). */
export async function startDeadLetterConsumer(
  bus: Bus,
  o: {
    durable: string;
    handler: (record: v1.DeadLetter) => Promise<void>;
    logger: Logger;
    /** A record that is neither a DeadLetter nor an advisory (it is dead-lettered in turn, once). */
    onMalformed?: (err: DynlabError, subject: string) => void;
  },
): Promise<RunningConsumer> {
  await ensureConsumer(bus, streams.deadLetter, logConsumerConfig(o.durable));
  return startDurableConsumer(bus, {
    stream: streams.deadLetter,
    durable: o.durable,
    type: RawBytes,
    concurrency: 1,
    batch: 32,
    logger: o.logger,
    onMalformed: o.onMalformed,
    handler: async (bytes, ctx) => {
      if (ctx.subject.startsWith('$JS.EVENT.ADVISORY.')) {
        let adv: MaxDeliveriesAdvisory;
        try {
          adv = JSON.parse(new TextDecoder().decode(bytes)) as MaxDeliveriesAdvisory;
        } catch (err) {
          throw new DecodeError(`not a JetStream advisory: ${(err as Error).message}`, {
            cause: err,
          });
        }
        const stream = adv.stream ?? '';
        const seq = adv.stream_seq ?? 0;
        let payload: Uint8Array = new Uint8Array();
        let subject = '';
        try {
          const sm = await bus.jsm.streams.getMessage(stream, { seq });
          payload = sm.data;
          subject = sm.subject;
          await bus.jsm.streams.deleteMessage(stream, seq, false);
        } catch {
          // Already removed (acked late, or handled by another coordinator): nothing to recover.
          return;
        }
        await o.handler(
          v1.DeadLetter.create({
            subject,
            stream,
            streamSeq: seq,
            deliveries: adv.deliveries ?? 0,
            consumer: adv.consumer ?? '',
            reason: `delivered ${adv.deliveries ?? '?'} times without an ack (the workers that took it crashed or exceeded the ack wait)`,
            error: {
              code: ErrorCode.Unavailable,
              message: 'max deliveries exceeded',
              retryable: false,
            },
            payload,
            timeMs: Date.now(),
          }),
        );
        return;
      }
      await o.handler(decode(v1.DeadLetter, bytes));
    },
  });
}
