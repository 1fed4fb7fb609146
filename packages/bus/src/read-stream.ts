/**
 * Reading back every message a stream holds on one subject filter, in order, with an ephemeral
 * ordered consumer: how the CLI exports a sweep and how tests audit one.
 *
 * Why each pull is drained into memory before anything is handed out: the NATS client's fetch
 * iterator drops the messages it still holds when its pull completes, so a caller that awaited
 * between messages (writing a file) lost about a tenth of a large read. And why each pull is
 * checked against what the server says it delivered: the same race remains in a narrow window (a
 * pull's last messages arriving while earlier ones are being taken); a shortfall is read again
 * from the message after the last one taken, with a new consumer.
 */
import { DeliverPolicy, type JsMsg } from 'nats';
import type { Bus } from './bus';

/** Messages one pull asks for (and holds in memory). */
const pullSize = 512;

/** Times a read starts again after a shortfall before it gives up. */
const maxRestarts = 100;

/** The data of every message of `stream` on `filter` (one subject filter: lists need 2.10), in stream order. */
export async function* readStream(
  bus: Bus,
  stream: string,
  filter: string,
): AsyncGenerator<Uint8Array> {
  let from = 0; // the stream sequence to start at (0: the first)
  for (let restart = 0; ; restart++) {
    const consumer = await bus.js.consumers.get(stream, {
      filterSubjects: filter,
      ...(from > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from } : {}),
    });
    let short = false;
    try {
      // Until the server says nothing is pending: an empty pull alone is not the end (a slow
      // server or a consumer reset can return one early), so ask again, a bounded number of times.
      let pending = (await consumer.info()).num_pending;
      let taken = 0;
      let emptyRounds = 0;
      while (pending > 0 && !short) {
        const pulled: JsMsg[] = [];
        const batch = await consumer.fetch({
          max_messages: Math.min(pending, pullSize),
          expires: 3000,
        });
        for await (const m of batch) pulled.push(m);
        const info = await consumer.info();
        taken += pulled.length;
        short = info.delivered.consumer_seq > taken;
        for (const m of pulled) {
          from = m.seq + 1;
          yield m.data;
        }
        pending = info.num_pending;
        if (pulled.length === 0 && ++emptyRounds > 5) break;
      }
    } finally {
      await consumer.delete().catch(() => undefined);
    }
    if (!short) return;
    if (restart >= maxRestarts)
      throw new Error(`reading ${filter} from ${stream}: messages went missing ${restart} times`);
  }
}
