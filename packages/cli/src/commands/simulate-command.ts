/**
 * `dynlab simulate`: a trial (or a small sweep) run in this process by the engine, no NATS, the
 * quickest way to try a spec. Output is JSON lines, written as the engine records them: one
 * `telemetry` line per recorded step of each trial, then one `result` line per trial.
 */
import { defineCommand, stringFlag } from '../define-command';
import { UsageError } from '../exit-codes';
import { simulate, simulateMaxTrials } from '../simulate-spec';

export const simulateCommand = defineCommand({
  name: 'simulate',
  summary: 'run one trial (or a small sweep) in-process and print its telemetry as JSON lines',
  usage: 'TRIAL.yaml [--out FILE] [--backend NAME]',
  positionals: { required: ['TRIAL.yaml'] },
  flags: {
    out: { type: 'string', value: 'FILE', help: 'write the JSON lines here instead of stdout' },
    backend: {
      type: 'string',
      value: 'NAME',
      help: 'auto (default), native, tensorflow, wasm or cpu',
    },
  },
  details: [
    'TRIAL.yaml is a trial spec (data, model, init, loss, optimizer, steps, record...) or a sweep',
    `(base + axes) of at most ${simulateMaxTrials} trials. Lines: {"type":"telemetry","trial",`,
    '"step","loss","error","gradShare":[...],"probeOutputs":[...],"paramNorms":[...],"deadUnits":[...]}',
    'for each recorded step (quantities not recorded are left out; NaN and Infinity print as null),',
    'then {"type":"result","trial","params","status","finalLoss","finalError","stepsDone","backend","wallS"}.',
  ],
  examples: [
    'dynlab simulate trial.yaml --out trial.jsonl',
    'dynlab simulate examples/sigmoidal-error.yaml | grep \'"result"\'',
  ],
  async run(a) {
    const backend = stringFlag(a, 'backend', 'auto')!;
    const { backendNames } = await import('@dynlab/engine');
    if (backend !== 'auto' && !(backendNames as readonly string[]).includes(backend))
      throw new UsageError(
        `--backend: expected auto or one of ${backendNames.join(', ')}, got '${backend}'`,
      );
    return simulate(a.positionals[0]!, { out: stringFlag(a, 'out'), backend: backend as 'auto' });
  },
});
