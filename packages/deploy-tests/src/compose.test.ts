import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { deployDir, repoRoot } from './repo-paths';

// Docker does not run here: the compose file is checked as data. It must parse, and every file,
// image, port and name it relies on must exist in the repository or be defined in the file.

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  expose?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  container_name?: string;
}

const composeDir = join(deployDir, 'compose');
const compose = parse(readFileSync(join(composeDir, 'compose.yaml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const dynlab = ['coordinator', 'trainer', 'analyzer'] as const;

/** `${VAR:-default}` becomes `default`, as compose does when VAR is unset. */
const defaulted = (v: string) => v.replace(/\$\{[A-Z0-9_]+:-([^}]*)\}/g, '$1');

test('the compose file defines NATS, the three services, Prometheus and Grafana', () => {
  assert.deepEqual(Object.keys(services).sort(), [
    'analyzer',
    'coordinator',
    'grafana',
    'nats',
    'prometheus',
    'trainer',
  ]);
});

test('every bind mount, build context and Dockerfile exists; every named volume is declared', () => {
  for (const [name, s] of Object.entries(services)) {
    for (const v of s.volumes ?? []) {
      const [source] = v.split(':') as [string];
      if (source.startsWith('.'))
        assert.ok(existsSync(resolve(composeDir, source)), `${name}: ${source} does not exist`);
      else assert.ok(source in compose.volumes, `${name}: volume ${source} is not declared`);
    }
    if (s.build) {
      const context = resolve(composeDir, s.build.context);
      assert.equal(context, repoRoot, `${name} builds from the repository root`);
      assert.ok(
        statSync(join(context, s.build.dockerfile)).isFile(),
        `${name}: ${s.build.dockerfile}`,
      );
    }
  }
});

test('images: the dynlab services run the image built here, the others pinned versions', () => {
  for (const name of dynlab) {
    assert.equal(defaulted(services[name]!.image!), 'dynlab:dev');
    assert.equal(services[name]!.build?.dockerfile, 'deploy/docker/Dockerfile');
    assert.deepEqual(
      services[name]!.command,
      [name],
      `${name} selects its service with the image's command`,
    );
  }
  const entrypoint = readFileSync(join(deployDir, 'docker', 'entrypoint.sh'), 'utf8');
  assert.match(entrypoint, /coordinator\|trainer\|analyzer\)/);
  assert.match(entrypoint, /exec node "\/app\/services\/\$\{service\}\/dist\/main\.js"/);
  for (const name of ['nats', 'prometheus', 'grafana']) {
    const image = services[name]!.image!;
    assert.match(image, /^[a-z/]+:v?\d+\.\d+\.\d+(-alpine)?$/, `${name} image ${image} is pinned`);
  }
});

test('trainers scale: no container name, no host port, and every service waits for a healthy NATS', () => {
  const trainer = services.trainer!;
  assert.equal(trainer.container_name, undefined);
  assert.equal(trainer.ports, undefined);
  for (const name of dynlab) {
    const deps = services[name]!.depends_on as Record<string, { condition: string }>;
    assert.equal(deps.nats?.condition, 'service_healthy', name);
  }
  const hostPorts = Object.values(services).flatMap((s) =>
    (s.ports ?? []).map((p) => p.split(':')[0]),
  );
  assert.equal(new Set(hostPorts).size, hostPorts.length, 'host ports are unique');
});

test('ports agree: NATS with its config, Prometheus targets with the services, Grafana with its datasource', () => {
  const natsConf = readFileSync(join(deployDir, 'nats', 'nats-server-dev.conf'), 'utf8');
  assert.match(natsConf, /listen: 0\.0\.0\.0:4222/);
  assert.match(natsConf, /http: 0\.0\.0\.0:8222/);
  const nats = services.nats!;
  assert.deepEqual(nats.ports, ['4222:4222', '8222:8222']);
  assert.deepEqual(nats.command, ['-c', '/etc/nats/nats-server-dev.conf']);
  assert.ok(nats.volumes?.includes('../nats:/etc/nats:ro'));

  const prom = parse(readFileSync(join(deployDir, 'prometheus', 'prometheus.yml'), 'utf8')) as {
    scrape_configs: { job_name: string; dns_sd_configs?: { names: string[]; port: number }[] }[];
  };
  const dockerfile = readFileSync(join(deployDir, 'docker', 'Dockerfile'), 'utf8');
  for (const name of dynlab) {
    const job = prom.scrape_configs.find((j) => j.job_name === `dynlab-${name}`);
    assert.deepEqual(
      job?.dns_sd_configs?.[0]?.names,
      [name],
      `Prometheus finds ${name} replicas by DNS`,
    );
    const port = String(job?.dns_sd_configs?.[0]?.port);
    const env = services[name]!.environment!;
    assert.equal(env.DYNLAB_METRICS_PORT, port);
    assert.deepEqual(services[name]!.expose, [port]);
    assert.match(dockerfile, new RegExp(`EXPOSE ${port}\\b`));
    assert.equal(env.DYNLAB_NATS_URL, 'nats://nats:4222');
  }
  assert.deepEqual(services.prometheus!.ports, ['9090:9090']);
  assert.ok(services.prometheus!.volumes?.includes('../prometheus:/etc/prometheus:ro'));

  const ds = parse(
    readFileSync(
      join(deployDir, 'grafana', 'provisioning', 'datasources', 'prometheus.yml'),
      'utf8',
    ),
  ) as { datasources: { url: string }[] };
  assert.equal(ds.datasources[0]!.url, 'http://prometheus:9090');
  const provider = parse(
    readFileSync(join(deployDir, 'grafana', 'provisioning', 'dashboards', 'dynlab.yml'), 'utf8'),
  ) as { providers: { options: { path: string } }[] };
  const grafana = services.grafana!;
  assert.ok(
    grafana.volumes?.includes(`../grafana/dashboards:${provider.providers[0]!.options.path}:ro`),
  );
  assert.ok(grafana.volumes?.includes('../grafana/provisioning:/etc/grafana/provisioning:ro'));
  assert.equal(
    grafana.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH,
    `${provider.providers[0]!.options.path}/overview.json`,
  );
  assert.ok(existsSync(join(deployDir, 'grafana', 'dashboards', 'overview.json')));
});

test('each service logs in as its own NATS user; only the coordinator creates the topology', () => {
  const permissions = readFileSync(join(deployDir, 'nats', 'permissions.conf'), 'utf8');
  const nats = services.nats!.environment!;
  for (const name of dynlab) {
    const env = services[name]!.environment!;
    assert.equal(env.DYNLAB_NATS_USER, name);
    assert.match(
      permissions,
      new RegExp(`user: ${name},\\s+password: \\$DYNLAB_NATS_${name.toUpperCase()}_PASSWORD`),
    );
    assert.equal(
      defaulted(env.DYNLAB_NATS_PASS!),
      defaulted(nats[`DYNLAB_NATS_${name.toUpperCase()}_PASSWORD`]!),
      `${name}'s password is the one NATS knows`,
    );
    assert.equal(env.DYNLAB_NATS_CREATE_TOPOLOGY, name === 'coordinator' ? undefined : 'false');
  }
});
