/**
 * Pull requests for a durable JetStream consumer on one long-lived inbox: `pull(n)` asks the
 * server for up to n more messages, which arrive on `onMessage`. Why not the client's `fetch`:
 * each fetch subscribes a new inbox (and unsubscribes it), arms a timer and builds an error object
 * for its timeout; for a trainer taking a job every few milliseconds that was a third of its main
 * thread. Here a pull is one publish.
 *
 * What is still to come is counted per request: the server serves waiting requests in order, each
 * up to its batch, and ends one that expires with a 408 status (409 when it cancels them all: the
 * consumer deleted, the server shutting down; or refuses a new one: "Exceeded MaxWaiting"). All
 * requests have the same lifetime, so they end in the order they were made. A request whose end
 * never arrives (a server restart loses its waiting requests) is written off a little after it
 * expired.
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
  /** Requests not yet ended, oldest first: messages each may still bring, and when it expires. */
  private readonly requests: { left: number; expires: number }[] = [];
  private outstanding = 0;
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
    this.requests.push({ left: n, expires: Date.now() + pullExpiresMs });
    this.outstanding += n;
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
      const head = this.requests[0];
      if (head && --head.left === 0) this.requests.shift();
      if (head) this.outstanding--;
      this.onMessage(toJsMsg(msg));
      return;
    }
    if (code === 100) return; // an idle heartbeat
    const status = msg.headers?.description ?? '';
    if (code === 409 && /^Exceeded/i.test(status)) {
      // The newest request was refused (too many waiting, too large): it will bring nothing.
      this.log.warn('pull request refused by the server', { status });
      const newest = this.requests.pop();
      if (newest) this.outstanding -= newest.left;
    } else if (code === 409) {
      // The server ended every waiting request (consumer deleted, shutting down): start over.
      this.log.warn('pull requests ended by the server', { status });
      this.requests.length = 0;
      this.outstanding = 0;
    } else {
      // 408: the oldest request expired with what it still had to give (404: nothing at all).
      const head = this.requests.shift();
      if (head) this.outstanding -= head.left;
    }
    this.onRoom();
  }

  private writeOffLost(): void {
    const now = Date.now();
    let lost = false;
    while (this.requests.length > 0 && this.requests[0]!.expires + lostAfterMs < now) {
      this.outstanding -= this.requests.shift()!.left;
      lost = true;
    }
    if (lost) this.onRoom();
  }
}
