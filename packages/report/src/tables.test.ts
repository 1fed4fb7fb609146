import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csvField } from './csv';
import { axisLabels, formatParam, paramsLabel, scalarParam } from './param-values';
import { paramColumn } from './trials-table';
import { quantityMatrices } from './telemetry-quantities';
import { emptyColumns } from '@dynlab/spec';
import { DynlabError } from '@dynlab/core';

void test('csvField quotes only what must be quoted and writes non-finite numbers as pandas reads them', () => {
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('two\nlines'), '"two\nlines"');
  assert.equal(csvField(' edge'), '" edge"');
  assert.equal(csvField(0.1 + 0.2), '0.30000000000000004');
  assert.equal(csvField(NaN), 'NaN');
  assert.equal(csvField(-Infinity), '-inf');
  assert.equal(csvField(null), '');
  assert.equal(csvField(undefined), '');
  assert.equal(csvField(true), 'true');
});

void test('param values: scalars, one-number lists, labels', () => {
  assert.equal(scalarParam('2.5'), 2.5);
  assert.equal(scalarParam('[-0.5]'), -0.5);
  assert.equal(scalarParam('[1,2]'), undefined);
  assert.equal(scalarParam('"hinge"'), undefined);
  assert.equal(formatParam('"hinge"'), 'hinge');
  assert.equal(formatParam('0.000012345'), '1.23e-5');
  assert.equal(formatParam('[0.25]'), '0.25');
  assert.equal(formatParam('[1,2]'), '[1,2]');
  const labels = axisLabels([
    'optimizer.learningRate',
    'data.features.features[0].norm',
    'data.features.features[1].norm',
  ]);
  assert.deepEqual([...labels.values()], ['learningRate', 'features[0].norm', 'features[1].norm']);
  assert.equal(
    paramsLabel({ 'optimizer.learningRate': '0.1' }, ['optimizer.learningRate'], labels),
    'learningRate=0.1',
  );
  assert.equal(paramsLabel({}, [], labels), 'all trials');
});

void test('paramColumn types a swept parameter by its values', () => {
  assert.deepEqual(paramColumn('lr', ['0.1', '1', undefined]), {
    name: 'lr',
    type: 'DOUBLE',
    values: [0.1, 1, null],
  });
  assert.deepEqual(paramColumn('k', ['true', 'false']), {
    name: 'k',
    type: 'BOOLEAN',
    values: [true, false],
  });
  assert.deepEqual(paramColumn('loss', ['"hinge"', '"logistic"']), {
    name: 'loss',
    type: 'STRING',
    values: ['hinge', 'logistic'],
  });
  assert.deepEqual(paramColumn('w', ['[0.5]', '1']), {
    name: 'w',
    type: 'STRING',
    values: ['[0.5]', '1'],
  });
});

void test('quantityMatrices gives widths and refuses a malformed series with a SHAPE error', () => {
  const t = {
    ...emptyColumns(2, 1, 2),
    steps: [0, 5],
    loss: [1, 0.5],
    error: [0.5, 0.2],
    gradShare: [0.5, 0.5, 0.9, 0.1],
    paramNorms: [1, 1, 2, 2],
    deadUnits: [0, 0.5],
  };
  assert.deepEqual(
    quantityMatrices(t).map((m) => [m.quantity, m.width]),
    [
      ['loss', 1],
      ['error', 1],
      ['gradShare', 2],
      ['paramNorms', 2],
      ['deadUnits', 1],
    ],
  );
  assert.throws(
    () => quantityMatrices({ ...t, gradShare: [0.5, 0.5, 0.9] }),
    (e: unknown) =>
      e instanceof DynlabError && e.code === 'SHAPE' && e.details.quantity === 'gradShare',
  );
});
