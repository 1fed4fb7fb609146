import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { deployDir } from './repo-paths';

// The Kubernetes files are checked without a cluster: every file parses, every kustomization
// refers only to files that exist, and where a kustomize of v4 or newer is available (kustomize,
// or kubectl's built-in one; Debian's kubernetes-client ships kustomize v2, too old for
// components) the example overlay is built and its output checked resource by resource.

const k8sDir = join(deployDir, 'k8s');
type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return yamlFiles(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

const kustomizations = [
  ...yamlFiles(k8sDir),
  ...['grafana', 'prometheus', 'nats'].map((d) => join(deployDir, d, 'kustomization.yaml')),
].filter((f) => f.endsWith('kustomization.yaml'));

test('every YAML file under deploy/k8s parses, and every resource names its apiVersion, kind and name', () => {
  const files = yamlFiles(k8sDir);
  assert.ok(files.length >= 12, `${files.length} files`);
  for (const file of files) {
    const docs = parseAllDocuments(readFileSync(file, 'utf8'));
    for (const d of docs)
      assert.deepEqual(
        d.errors.map((e) => e.message),
        [],
        relative(deployDir, file),
      );
    if (file.endsWith('kustomization.yaml') || file.endsWith('nats-values.yaml')) continue;
    for (const d of docs) {
      const r = d.toJS() as Doc;
      assert.ok(
        r.apiVersion && r.kind && r.metadata?.name,
        `${relative(deployDir, file)}: ${JSON.stringify(r).slice(0, 80)}`,
      );
    }
  }
});

test('every kustomization refers only to files and folders that exist', () => {
  assert.ok(kustomizations.length === 8, `${kustomizations.length} kustomizations`);
  for (const file of kustomizations) {
    const k = parse(readFileSync(file, 'utf8')) as Doc;
    const base = dirname(file);
    const refs: string[] = [
      ...(k.resources ?? []),
      ...(k.components ?? []),
      ...(k.patches ?? []).map((p: { path?: string }) => p.path).filter(Boolean),
      ...[...(k.configMapGenerator ?? []), ...(k.secretGenerator ?? [])].flatMap(
        (g: { files?: string[]; envs?: string[] }) =>
          [...(g.files ?? []), ...(g.envs ?? [])].map((f) => f.split('=').pop()!),
      ),
    ];
    assert.ok(refs.length > 0, `${relative(deployDir, file)} refers to nothing`);
    for (const ref of refs) {
      const target = resolve(base, ref);
      assert.ok(existsSync(target), `${relative(deployDir, file)}: ${ref} does not exist`);
      if (statSync(target).isDirectory())
        assert.ok(
          existsSync(join(target, 'kustomization.yaml')),
          `${ref} is a folder without a kustomization.yaml`,
        );
    }
    for (const ref of k.components ?? [])
      assert.equal(
        (parse(readFileSync(join(resolve(base, ref), 'kustomization.yaml'), 'utf8')) as Doc).kind,
        'Component',
        ref,
      );
  }
});

test('nats-values.yaml runs JetStream with TLS and mounts the permissions and passwords the base provides', () => {
  const values = parse(readFileSync(join(k8sDir, 'nats-values.yaml'), 'utf8')) as Doc;
  assert.equal(values.config.jetstream.enabled, true);
  assert.equal(values.config.jetstream.fileStore.pvc.enabled, true);
  assert.equal(values.config.nats.tls.enabled, true);
  assert.equal(values.config.monitor.port, 8222);
  assert.equal(values.fullnameOverride, 'nats');
  const include = values.config.merge['00$include'] as string;
  const mount = values.container.patch[0].value;
  assert.equal(resolve('/etc/nats-config', include), join(mount.mountPath, 'permissions.conf'));
  assert.equal(values.podTemplate.patch[0].value.configMap.name, 'dynlab-nats-permissions');
  assert.deepEqual(values.reloader.patch[0].value, mount);
  const permissions = readFileSync(join(deployDir, 'nats', 'permissions.conf'), 'utf8');
  const env = values.container.env as Record<
    string,
    { valueFrom: { secretKeyRef: { name: string; key: string } } }
  >;
  const credentials = readFileSync(
    join(k8sDir, 'overlays', 'example', 'nats-credentials.env'),
    'utf8',
  );
  for (const user of ['coordinator', 'trainer', 'analyzer', 'cli']) {
    const name = `DYNLAB_NATS_${user.toUpperCase()}_PASSWORD`;
    assert.match(permissions, new RegExp(`\\$${name}\\b`));
    assert.deepEqual(env[name]?.valueFrom.secretKeyRef, {
      name: 'dynlab-nats-credentials',
      key: `${user}-password`,
    });
    assert.match(credentials, new RegExp(`^${user}-password=\\S+$`, 'm'));
  }
});

/** A kustomize binary of v4 or newer: `kustomize`, or `kubectl kustomize`; undefined if none. */
function kustomizeCommand(): string[] | undefined {
  const standalone = spawnSync('kustomize', ['version'], { encoding: 'utf8' });
  if (standalone.status === 0 && /v([4-9]|\d{2,})\./.test(standalone.stdout))
    return ['kustomize', 'build'];
  const kubectl = spawnSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
  if (kubectl.status === 0 && /"kustomizeVersion":\s*"v([4-9]|\d{2,})\./.test(kubectl.stdout))
    return ['kubectl', 'kustomize'];
  return undefined;
}

test('kustomize builds the example overlay into the resources the services need', (t) => {
  const cmd = kustomizeCommand();
  if (!cmd) {
    t.skip('no kustomize v4+ (kustomize, or kubectl with a recent built-in kustomize) on PATH');
    return;
  }
  const build = (dir: string): Doc[] => {
    const r = spawnSync(cmd[0]!, [...cmd.slice(1), join(k8sDir, dir)], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr);
    return parseAllDocuments(r.stdout).map((d) => d.toJS() as Doc);
  };
  assert.ok(build('base').length >= 9);
  const out = build('overlays/example');
  const of = (kind: string) => out.filter((r) => r.kind === kind);
  const named = (kind: string, prefix: string) =>
    of(kind).find((r) => r.metadata.name === prefix || r.metadata.name.startsWith(`${prefix}-`));
  for (const r of out)
    if (r.kind !== 'Namespace')
      assert.equal(r.metadata.namespace, 'dynlab', `${r.kind}/${r.metadata.name}`);

  const deployments = of('Deployment');
  assert.deepEqual(deployments.map((d) => d.metadata.name).sort(), [
    'dynlab-analyzer',
    'dynlab-coordinator',
    'dynlab-trainer',
  ]);
  const secretNames = new Set([
    ...of('Secret').map((s) => s.metadata.name),
    ...of('Certificate').map((c) => c.spec.secretName),
  ]);
  const configMaps = new Set(of('ConfigMap').map((c) => c.metadata.name));
  for (const d of deployments) {
    const service = d.metadata.name.replace('dynlab-', '');
    const pod = d.spec.template;
    const c = pod.spec.containers[0];
    assert.equal(c.image, 'registry.example.com/dynlab:0.1.0');
    assert.deepEqual(c.args, [service]);
    assert.equal(c.livenessProbe.httpGet.path, '/healthz');
    assert.equal(c.readinessProbe.httpGet.path, '/readyz');
    assert.equal(c.ports[0].containerPort, 9464);
    assert.equal(c.livenessProbe.httpGet.port, c.ports[0].name);
    assert.ok(
      c.resources.requests.cpu && c.resources.requests.memory,
      `${service} requests resources`,
    );
    assert.equal(pod.metadata.annotations['prometheus.io/scrape'], 'true');
    assert.equal(pod.metadata.annotations['prometheus.io/port'], '9464');
    assert.equal(pod.metadata.labels['app.kubernetes.io/part-of'], 'dynlab');
    assert.equal(pod.spec.securityContext.runAsNonRoot, true);
    for (const e of c.env)
      if (e.valueFrom?.secretKeyRef)
        assert.ok(secretNames.has(e.valueFrom.secretKeyRef.name), e.valueFrom.secretKeyRef.name);
    for (const e of c.envFrom) assert.ok(configMaps.has(e.configMapRef.name), e.configMapRef.name);
    for (const v of pod.spec.volumes)
      if (v.secret) assert.ok(secretNames.has(v.secret.secretName), v.secret.secretName);
    assert.equal(c.env.find((e: Doc) => e.name === 'DYNLAB_NATS_USER').value, service);
    assert.equal(
      c.env.find((e: Doc) => e.name === 'DYNLAB_NATS_CREATE_TOPOLOGY')?.value,
      service === 'coordinator' ? undefined : 'false',
    );
    const svc = named('Service', d.metadata.name)!;
    for (const [k, v] of Object.entries(svc.spec.selector))
      assert.equal(pod.metadata.labels[k], v, `${svc.metadata.name} selects ${service}`);
  }
  assert.equal(named('Deployment', 'dynlab-coordinator')!.spec.replicas, 2);

  const dashboards = named('ConfigMap', 'dynlab-grafana-dashboards')!;
  assert.equal(dashboards.metadata.labels.grafana_dashboard, '1');
  for (const f of ['overview.json', 'science.json'])
    assert.equal(
      dashboards.data[f],
      readFileSync(join(deployDir, 'grafana', 'dashboards', f), 'utf8'),
      `${f} in the ConfigMap is the file`,
    );
  assert.equal(
    of('ConfigMap').find((c) => c.metadata.name === 'dynlab-nats-permissions')!.data[
      'permissions.conf'
    ],
    readFileSync(join(deployDir, 'nats', 'permissions.conf'), 'utf8'),
  );
  const prom = named('ConfigMap', 'dynlab-prometheus')!;
  assert.equal(
    prom.data['prometheus.yml'],
    readFileSync(join(deployDir, 'prometheus', 'prometheus-k8s.yml'), 'utf8'),
  );
  assert.equal(
    prom.data['alerts.yml'],
    readFileSync(join(deployDir, 'prometheus', 'alerts.yml'), 'utf8'),
  );

  const scaled = of('ScaledObject') as [Doc];
  assert.equal(scaled.length, 1);
  assert.equal(scaled[0].spec.scaleTargetRef.name, 'dynlab-trainer');
  assert.deepEqual(
    scaled[0].spec.triggers.map((tr: Doc) => [
      tr.type,
      tr.metadata.stream,
      tr.metadata.consumer,
      tr.metadata.account,
    ]),
    [['nats-jetstream', 'DYNLAB_JOBS', 'trainers', '$G']],
  );
  assert.match(
    scaled[0].spec.triggers[0].metadata.natsServerMonitoringEndpoint,
    /^nats-headless\.dynlab\.svc\.cluster\.local:8222$/,
  );
  const monitor = of('ServiceMonitor')[0]!;
  assert.deepEqual(monitor.spec.selector.matchExpressions[0].values.sort(), [
    'analyzer',
    'coordinator',
    'trainer',
  ]);
  assert.equal(monitor.spec.endpoints[0].port, 'metrics');
  const nats = named('Certificate', 'dynlab-nats-tls')!;
  assert.ok(nats.spec.dnsNames.includes('nats.dynlab.svc.cluster.local'));
  const config = named('ConfigMap', 'dynlab-config')!;
  assert.equal(config.data.DYNLAB_NATS_URL, 'tls://nats:4222');
});
