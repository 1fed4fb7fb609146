import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { runPromtool } from './promtool';
import { deployDir } from './repo-paths';

const promDir = join(deployDir, 'prometheus');

test('promtool check config accepts prometheus.yml (and the alert rules it loads)', () => {
  const r = runPromtool(['check', 'config', 'prometheus.yml'], promDir);
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /SUCCESS: prometheus\.yml is valid/);
  assert.match(r.output, /SUCCESS: \d+ rules found/);
});

test('promtool check rules accepts alerts.yml, with every alert the issue asks for', () => {
  const r = runPromtool(['check', 'rules', 'alerts.yml'], promDir);
  assert.equal(r.code, 0, r.output);
  const rules = (
    parse(readFileSync(join(promDir, 'alerts.yml'), 'utf8')) as {
      groups: { rules: { alert: string }[] }[];
    }
  ).groups.flatMap((g) => g.rules.map((x) => x.alert));
  for (const name of [
    'DynlabServiceDown',
    'DynlabJobQueueGrowingWithoutTrainers',
    'DynlabDeadLettersRising',
    'DynlabAnalyzerErrors',
  ])
    assert.ok(rules.includes(name), name);
});

test('promtool test rules: every alert fires on its input series and stays quiet on healthy ones', () => {
  const r = runPromtool(['test', 'rules', 'alerts.test.yml'], promDir);
  assert.equal(r.code, 0, r.output);
  const tested = new Set(
    (
      parse(readFileSync(join(promDir, 'alerts.test.yml'), 'utf8')) as {
        tests: { alert_rule_test: { alertname: string }[] }[];
      }
    ).tests.flatMap((t) => t.alert_rule_test.map((a) => a.alertname)),
  );
  const rules = (
    parse(readFileSync(join(promDir, 'alerts.yml'), 'utf8')) as {
      groups: { rules: { alert: string }[] }[];
    }
  ).groups.flatMap((g) => g.rules.map((x) => x.alert));
  assert.deepEqual(
    rules.filter((a) => !tested.has(a)),
    [],
    'alerts without a unit test',
  );
});

test('prometheus-k8s.yml passes promtool with its Kubernetes discovery swapped for static targets', () => {
  // Debian builds Prometheus without Kubernetes discovery, so promtool there cannot read
  // kubernetes_sd_configs; everything else in the file (relabelling, rules) is still checked.
  const config = parse(readFileSync(join(promDir, 'prometheus-k8s.yml'), 'utf8')) as {
    scrape_configs: Record<string, unknown>[];
  };
  for (const job of config.scrape_configs) {
    assert.ok(Array.isArray(job.kubernetes_sd_configs), `${String(job.job_name)} discovers pods`);
    delete job.kubernetes_sd_configs;
    job.static_configs = [{ targets: ['127.0.0.1:9464'] }];
  }
  const dir = mkdtempSync(join(tmpdir(), 'dynlab-promk8s-'));
  try {
    writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
    copyFileSync(join(promDir, 'alerts.yml'), join(dir, 'alerts.yml'));
    const r = runPromtool(['check', 'config', 'prometheus.yml'], dir);
    assert.equal(r.code, 0, r.output);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('promtool fails on a broken rule file, so the checks above can fail', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dynlab-promk8s-'));
  try {
    writeFileSync(
      join(dir, 'bad.yml'),
      'groups:\n  - name: x\n    rules:\n      - alert: Broken\n        expr: sum(rate(dynlab_trainer_jobs_total[5m])\n',
    );
    const r = runPromtool(['check', 'rules', 'bad.yml'], dir);
    assert.notEqual(r.code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
