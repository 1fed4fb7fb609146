/**
 * Pull requests for a durable JetStream consumer on one long-lived inbox: `pull(n)` asks the
 * server for up to n more messages, which arrive on `onMessage`. Why not the client's `fetch`:
 * each fetch subscribes a new inbox (and unsubscribes it), arms a timer and builds an error object
 * for its timeout; for a trainer taking a job every few milliseconds that was a third of its main
 * thread. Here a pull is one publish.
 *
 * What is still to come is counted in all: a message arrives under its own subject, not its
 * request's, and nats-server hands messages to its waiting requests in turn (not the oldest
 * first). Each request has its own reply subject under the inbox (one wildcard subscription), on
 * which the server ends it: a 408 when it expires, saying how many of its messages never came, or
 * a 409 "Exceeded ..." when it is refused (too many waiting, too large), which brings nothing. A
 * 409 of another kind (the consumer deleted, the server shutting down) ends them all. Every request
 * ends within its lifetime, so no more can be to come than the requests not yet past it asked
 * for: a count above that is what requests the server lost (a restart) still held, and is
 * written off, even while newer requests come and go.
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
/** How long after a refused request room is offered again (the server's queue was full). */
const refusedRetryMs = 250;

export class PullFeed {
  private readonly inbox: string;
  private readonly sub: Subscription;
  /** Requests not ended by the server, by reply subject: their size and when they are surely over. */
  private readonly requests = new Map<string, { n: number; overAt: number }>();
  /** Messages asked for that have neither come nor been written off. */
  private outstanding = 0;
  private serial = 0;
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
    this.inbox = createInbox(bus.inboxPrefix);
    this.sub = bus.nc.subscribe(`${this.inbox}.*`, {
      callback: (err, msg) => this.receive(err, msg),
    });
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
    const reply = `${this.inbox}.${++this.serial}`;
    this.requests.set(reply, { n, overAt: Date.now() + pullExpiresMs + lostAfterMs });
    this.outstanding += n;
    const body = JSON.stringify({ batch: n, expires: pullExpiresMs * 1e6 });
    this.bus.nc.publish(this.subject, new TextEncoder().encode(body), { reply });
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
    const request = this.requests.get(msg.subject);
    this.requests.delete(msg.subject);
    if (code === 409 && /^Exceeded/i.test(status)) {
      // This request was refused: it brings nothing. Room is offered again a little later, not at
      // once (a full queue would refuse the same pull again, as fast as the round trip).
      this.log.warn('pull request refused by the server', { status });
      this.outstanding = Math.max(0, this.outstanding - (request?.n ?? 0));
      setTimeout(() => this.onRoom(), refusedRetryMs).unref();
      return;
    }
    if (code === 409) {
      this.log.warn('pull requests ended by the server', { status });
      this.requests.clear();
      this.outstanding = 0;
    } else {
      // 408: the request expired; the header says how many of its messages never came.
      const left = Number(msg.headers?.get('Nats-Pending-Messages'));
      this.outstanding = Number.isFinite(left) ? Math.max(0, this.outstanding - left) : 0;
    }
    this.onRoom();
  }

  /** Forgets requests past their lifetime; what they may still have held was lost. */
  private writeOffLost(): void {
    const now = Date.now();
    let live = 0;
    for (const [reply, r] of this.requests)
      if (now > r.overAt) this.requests.delete(reply);
      else live += r.n;
    if (this.outstanding > live) {
      this.log.warn('pull requests lost (no answer within their lifetime)', {
        messages: this.outstanding - live,
      });
      this.outstanding = live;
      this.onRoom();
    }
  }
}
