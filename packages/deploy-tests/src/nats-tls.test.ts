import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { freePort, natsServerBinary } from '@dynlab/testing';
import { deployDir } from './repo-paths';

const natsDir = join(deployDir, 'nats');
const env = {
  ...process.env,
  DYNLAB_NATS_COORDINATOR_PASSWORD: 'c',
  DYNLAB_NATS_TRAINER_PASSWORD: 't',
  DYNLAB_NATS_ANALYZER_PASSWORD: 'a',
  DYNLAB_NATS_CLI_PASSWORD: 'cli',
};

/** A throwaway CA and a server certificate for 127.0.0.1, as docs/deploy.md tells you to make. */
function makeCertificates(dir: string): void {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=dynlab-test-ca',
  );
  run('req', ...ec, '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run(
    'x509',
    '-req',
    '-in',
    'tls.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'tls.crt',
    '-days',
    '1',
    '-extfile',
    'san.ext',
  );
}

/** deploy/nats/nats-server.conf with its paths and ports moved into `dir`; fails if the file no longer has them. */
function localConfig(dir: string, port: number, httpPort: number): string {
  let text = readFileSync(join(natsDir, 'nats-server.conf'), 'utf8');
  const swaps: [string, string][] = [
    ['/etc/nats/tls/', `${join(dir, 'tls')}/`],
    ['/data/jetstream', join(dir, 'jetstream')],
    ['listen: 0.0.0.0:4222', `listen: 127.0.0.1:${port}`],
    ['http: 0.0.0.0:8222', `http: 127.0.0.1:${httpPort}`],
  ];
  for (const [from, to] of swaps) {
    assert.ok(text.includes(from), `nats-server.conf no longer contains ${from}`);
    text = text.split(from).join(to);
  }
  return text;
}

test('nats-server.conf runs as written: TLS required on the client port, the service users behind it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dynlab-nats-tls-'));
  const proc = { current: undefined as ReturnType<typeof spawn> | undefined };
  try {
    mkdirSync(join(dir, 'tls'));
    makeCertificates(join(dir, 'tls'));
    const [port, httpPort] = [await freePort(), await freePort()];
    writeFileSync(join(dir, 'nats-server.conf'), localConfig(dir, port, httpPort));
    copyFileSync(join(natsDir, 'permissions.conf'), join(dir, 'permissions.conf'));
    const bin = natsServerBinary();
    const check = spawnSync(bin, ['-c', join(dir, 'nats-server.conf'), '-t'], {
      env,
      encoding: 'utf8',
    });
    assert.equal(check.status, 0, check.stderr + check.stdout);

    const p = spawn(bin, ['-c', join(dir, 'nats-server.conf')], { env, stdio: 'ignore' });
    proc.current = p;
    const url = `nats://127.0.0.1:${port}`;
    const tls = { caFile: join(dir, 'tls', 'ca.crt') };
    let nc: Awaited<ReturnType<typeof connect>> | undefined;
    for (let i = 0; i < 100 && !nc; i++) {
      nc = await connect({
        servers: url,
        user: 'trainer',
        pass: 't',
        tls,
        timeout: 2000,
        reconnect: false,
        // The trainer's own replies, as dynlab's bus asks for them (permissions.conf).
        inboxPrefix: '_INBOX_trainer',
      }).catch(async () => {
        await new Promise((r) => setTimeout(r, 100));
        return undefined;
      });
    }
    assert.ok(nc, 'a trainer connects over TLS');
    assert.equal(nc.info?.tls_required, true);
    assert.ok(
      (await (await nc.jetstreamManager()).getAccountInfo()).limits,
      'JetStream answers the trainer',
    );
    await nc.close();

    await assert.rejects(
      connect({
        servers: url,
        user: 'trainer',
        pass: 't',
        tls: null,
        timeout: 2000,
        reconnect: false,
      }),
      'a plain-text client is refused',
    );
    await assert.rejects(
      connect({
        servers: url,
        user: 'trainer',
        pass: 't',
        tls: {},
        timeout: 2000,
        reconnect: false,
      }),
      'a client that does not trust the CA is refused',
    );
  } finally {
    proc.current?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('nats-server-dev.conf is a valid configuration, and a missing password stops the server from starting', () => {
  const bin = natsServerBinary();
  const ok = spawnSync(bin, ['-c', join(natsDir, 'nats-server-dev.conf'), '-t'], {
    env,
    encoding: 'utf8',
  });
  assert.equal(ok.status, 0, ok.stderr + ok.stdout);
  const missing = spawnSync(bin, ['-c', join(natsDir, 'nats-server-dev.conf'), '-t'], {
    env: { ...env, DYNLAB_NATS_TRAINER_PASSWORD: undefined },
    encoding: 'utf8',
  });
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr + missing.stdout, /DYNLAB_NATS_TRAINER_PASSWORD/);
});
