/**
 * Pull requests for a durable JetStream consumer on one long-lived inbox: `pull(n)` asks the
 * server for up to n more messages, which arrive on `onMessage`. Why not the client's `fetch`:
 * each fetch subscribes a new inbox (and unsubscribes it), arms a timer and builds an error object
 * for its timeout; for a trainer taking a job every few milliseconds that was a third of its main
 * thread. Here a pull is one publish.
 *
 * What is still to come is counted in all, not per request: nats-server hands messages to its
 * waiting requests in turn (not the oldest first), ends a request that expires with a 408 status
 * saying how many of its messages never came, and refuses a new one with a 409 "Exceeded ..."
 * (too many waiting); a 409 of another kind (the consumer deleted, the server shutting down)
 * ends them all. Every request ends within its lifetime, so when nothing has been asked for that
 * long and the count is not zero, the server has lost the requests (a restart) and the count is
 * written off.
 */
import { createInbox, type JsMsg, type Msg, type Subscription } from 'nats';
// toJsMsg is not re-exported at the package root (nats 2.29.3 is pinned; see package.json).
import { toJsMsg } from 'nats/lib/jetstream/jsmsg';
import type { Logger } from '@dynlab/core';
import type { Bus } from './bus';

/** How long a pull request waits on the server for messages. */
export const pullExpiresMs = 2000;
/** How long after its expiry a request without an answer is written off. */
const lostAfterMs = 2000;

export class PullFeed {
  private readonly inbox = createInbox();
  private readonly sub: Subscription;
  /** Messages asked for that have neither come nor been written off. */
  private outstanding = 0;
  private lastPullAt = 0;
  private lastBatch = 0;
  private readonly subject: string;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly bus: Bus,
    stream: string,
    durable: string,
    private readonly onMessage: (m: JsMsg) => void,
    /** Called when requests ended without all their messages (room to pull again). */
    private readonly onRoom: () => void,
    private readonly log: Logger,
  ) {
    this.subject = `$JS.API.CONSUMER.MSG.NEXT.${stream}.${durable}`;
    this.sub = bus.nc.subscribe(this.inbox, { callback: (err, msg) => this.receive(err, msg) });
    this.sweeper = setInterval(() => this.writeOffLost(), lostAfterMs);
    this.sweeper.unref();
  }

  /** Messages asked for and not yet arrived. */
  get pending(): number {
    return this.outstanding;
  }

  /** Asks for up to `n` more messages. */
  pull(n: number): void {
    if (n <= 0 || this.bus.isClosed) return;
    this.outstanding += n;
    this.lastPullAt = Date.now();
    this.lastBatch = n;
    const body = JSON.stringify({ batch: n, expires: pullExpiresMs * 1e6 });
    this.bus.nc.publish(this.subject, new TextEncoder().encode(body), { reply: this.inbox });
  }

  /** Stops listening (messages of requests still open are then not delivered to this inbox). */
  close(): void {
    clearInterval(this.sweeper);
    this.sub.unsubscribe();
  }

  private receive(err: Error | null, msg: Msg): void {
    if (err) {
      this.log.warn('pull inbox error', { error: err.message });
      return;
    }
    const code = msg.headers?.code ?? 0;
    if (code === 0) {
      this.outstanding = Math.max(0, this.outstanding - 1);
      this.onMessage(toJsMsg(msg));
      return;
    }
    if (code === 100) return; // an idle heartbeat
    const status = msg.headers?.description ?? '';
    if (code === 409 && /^Exceeded/i.test(status)) {
      // The newest request was refused (too many waiting, too large): it brings nothing.
      this.log.warn('pull request refused by the server', { status });
      this.outstanding = Math.max(0, this.outstanding - this.lastBatch);
    } else if (code === 409) {
      this.log.warn('pull requests ended by the server', { status });
      this.outstanding = 0;
    } else {
      // 408: a request expired; the header says how many of its messages never came.
      const left = Number(msg.headers?.get('Nats-Pending-Messages'));
      this.outstanding = Number.isFinite(left) ? Math.max(0, this.outstanding - left) : 0;
    }
    this.onRoom();
  }

  private writeOffLost(): void {
    if (this.outstanding > 0 && Date.now() > this.lastPullAt + pullExpiresMs + lostAfterMs) {
      this.log.warn('pull requests lost (no answer within their lifetime)', {
        messages: this.outstanding,
      });
      this.outstanding = 0;
      this.onRoom();
    }
  }
}
